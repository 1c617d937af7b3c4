# DropLoss Mask R-CNN R101-FPN, LVIS v1, 1x, random sampling.
_base_ = './droploss_r50_lvis.py'

model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained',
                      checkpoint='torchvision://resnet101')))
