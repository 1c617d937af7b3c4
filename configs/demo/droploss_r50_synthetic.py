# The 1203-category pipeline check (the tests train it; `make demo` runs
# droploss_r18_synthetic_demo.py): DropLoss R50 on the synthetic LVIS
# v1-format data of
# `python tools/misc/make_synthetic_lvis.py --out data/synthetic_lvis`.
# Data location, image scale and schedule differ from the LVIS config, and
# the settings that follow from the data's size (lambda, detections).
_base_ = '../droploss_r50_lvis.py'

data_root = 'data/synthetic_lvis/'
image_scale = (160, 160)

model = dict(
    # No ImageNet weights offline: the backbone starts from random weights.
    backbone=dict(init_cfg=None),
    # 40 training images: lambda 0.25 (fewer than 10 images) puts the rare
    # and common groups in the tail set, as 0.00177 does on LVIS v1.
    roi_head=dict(bbox_head=dict(loss_cls=dict(lambda_=0.25))),
    # at most 5 objects in a 160 px image; 300 detections would only cost
    # time (the mask head predicts 1203 masks per detection)
    test_cfg=dict(rcnn=dict(max_per_img=100)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root,
        filter_cfg=dict(min_size=8),
        pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator

# 2 images per batch on one process: lr 0.02 x 2 / 16
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=20),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[3],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.0025))
default_hooks = dict(logger=dict(interval=5))
