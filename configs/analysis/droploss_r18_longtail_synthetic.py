# The end-to-end long-tail experiment (tools/analysis/longtail_detection.sh):
# a reduced Mask R-CNN on the 60-class synthetic LVIS-format data of
#   python tools/misc/make_synthetic_lvis.py --out data/longtail_synthetic \
#       --num-train 800 --num-val 300 --num-active 60 --only-active \
#       --rare-max 10 --common-max 50
# The sigmoid and EQL baselines inherit this file and change the loss mode.
_base_ = '../demo/droploss_r50_synthetic.py'

data_root = 'data/longtail_synthetic/'
num_classes = 60

# R18 and narrower FPN/heads, so that three runs fit in an hour on a CPU
channels = 128
model = dict(
    # random initial weights (offline): train every stage and its BN
    backbone=dict(depth=18, frozen_stages=-1, norm_eval=False),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=channels),
    rpn_head=dict(in_channels=channels, feat_channels=channels),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=channels),
        mask_roi_extractor=dict(out_channels=channels),
        bbox_head=dict(
            in_channels=channels,
            fc_out_channels=512,
            num_classes=num_classes,
            # tail = fewer than 52 of 800 training images: the 'r' and 'c'
            # groups, as lambda 0.00177 picks them on LVIS v1
            loss_cls=dict(num_classes=num_classes, lambda_=0.065)),
        mask_head=dict(
            num_convs=2,
            in_channels=channels,
            conv_out_channels=64,
            num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(max_per_img=50)))

train_dataloader = dict(
    batch_size=4, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator

# 4 images per batch: lr 0.02 x 4 / 16
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[3],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.005))
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=max_epochs))
# per-category gradient statistics for tools/analysis/plot_grad_stats.py
custom_hooks = [
    *_base_.custom_hooks,
    dict(type='ClsGradientStatsHook', interval=200)
]
