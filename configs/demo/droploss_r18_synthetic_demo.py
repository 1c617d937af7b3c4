# The `make demo` detector: DropLoss Mask R-CNN, R18-FPN with narrow heads,
# from random weights, on the 20-class synthetic LVIS-format data of
#   python tools/misc/make_synthetic_lvis.py --out data/demo_synthetic \
#       --num-train 240 --num-val 24 --num-active 20 --only-active \
#       --rare-max 10 --common-max 24
# It learns in a few CPU minutes (see docs/get_started.md for its AP).
# The 1203-category pipeline check is configs/demo/droploss_r50_synthetic.py.
_base_ = './droploss_r50_synthetic.py'

data_root = 'data/demo_synthetic/'
num_classes = 20

# narrow FPN and heads, and 64 RoIs per image: three times faster than
# the R50 model on a CPU and enough for 20 kinds of polygon
channels = 64
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
            fc_out_channels=256,
            num_classes=num_classes,
            # tail = in fewer than 25 of the 240 training images: the 'r'
            # and 'c' groups (--common-max 24), as lambda 0.00177 picks
            # them on LVIS v1
            loss_cls=dict(num_classes=num_classes, lambda_=0.104)),
        mask_head=dict(
            num_convs=2,
            in_channels=channels,
            conv_out_channels=32,
            num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64))),
    # at most 5 objects per image
    test_cfg=dict(
        rpn=dict(nms_pre=200, max_per_img=100),
        rcnn=dict(max_per_img=20)))

train_dataloader = dict(batch_size=4, dataset=dict(data_root=data_root))
val_dataloader = dict(dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
# validation and test alike, as MMDetection's eval_metric.py expects
val_evaluator = dict(ann_file=data_root + 'annotations/lvis_v1_val.json')
test_evaluator = val_evaluator

# 4 images per batch, 300 iterations: twice the rate of 0.02 x 4 / 16
# makes up for the short schedule
max_epochs = 5
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[4],
        gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(lr=0.01), clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=max_epochs))
# the same numbers on every run (docs/get_started.md quotes them)
randomness = dict(seed=0)
