# DropLoss Mask R-CNN R50-FPN, LVIS v1, random sampling: the authors' recipe
# as their detectron2 LVIS configs give it (github.com/timy90022/DropLoss,
# projects/DropLoss{,_v1}/configs/: droploss_mask_rcnn_R_50_FPN_1x.yaml on
# Base-DropLoss-RCNN-FPN.yaml, and detectron2's defaults for what they leave
# out). The base has their schedule (90,000 iterations, lr 0.02, steps at
# 60,000 and 80,000, SOLVER.*); this file changes what still differs: the
# backbone and its weights, the pixel normalisation, the input sizes, the
# warm-up.
_base_ = './droploss_r50_90k_lvis.py'

model = dict(
    # detectron2's MODEL.PIXEL_MEAN (BGR) and PIXEL_STD [1, 1, 1]: the caffe
    # weights expect BGR images minus the mean, unscaled
    data_preprocessor=dict(
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False),
    backbone=dict(
        # MODEL.RESNETS.STRIDE_IN_1X1 True (MSRA's ResNet): stride in the 1x1
        style='caffe',
        # MODEL.RESNETS.NORM 'FrozenBN': statistics and affine fixed (the
        # base's frozen_stages=1 is MODEL.BACKBONE.FREEZE_AT 2: stem, res2)
        norm_cfg=dict(type='BN', requires_grad=False),
        norm_eval=True,
        # MODEL.WEIGHTS detectron2://ImageNetPretrained/MSRA/R-50.pkl, as
        # MMDetection names it
        init_cfg=dict(
            type='Pretrained',
            checkpoint='open-mmlab://detectron2/resnet50_caffe')))

# INPUT.MIN_SIZE_TRAIN (640, 672, 704, 736, 768, 800), one per image, and
# MAX_SIZE_TRAIN 1333, as MMDetection's ms-poly configs write it; testing
# (MIN_SIZE_TEST 800, MAX_SIZE_TEST 1333) is the base's Resize (1333, 800)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=_base_.backend_args),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
# the base's LVIS v1 dataset, only its pipeline replaced
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))

# SOLVER.WARMUP_ITERS 1000, WARMUP_FACTOR 0.001, WARMUP_METHOD 'linear'
# (detectron2's defaults; MMDetection's are 500 iterations); then the
# base's MultiStepLR (SOLVER.STEPS (60000, 80000), MAX_ITER 90000)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=1000),
    _base_.param_scheduler[1]
]
# SOLVER.IMS_PER_BATCH 16 and BASE_LR 0.02 are the base's: 2 images per
# GPU on 8 GPUs (auto_scale_lr.base_batch_size 16) and optimizer lr 0.02.
# 16 is the authors' LVIS v0.5 base and their README's 8 GPUs; their LVIS
# v1 base (projects/DropLoss_v1) says IMS_PER_BATCH 4 with the same lr and
# iterations (4 images at lr 0.02: a quarter of the images of the v0.5
# recipe); this config keeps 16.
