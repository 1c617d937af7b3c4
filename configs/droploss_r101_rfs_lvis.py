# DropLoss Mask R-CNN R101-FPN, LVIS v1, 1x, repeat-factor sampling (0.0005).
_base_ = './droploss_r50_rfs_lvis.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
