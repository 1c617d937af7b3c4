# DropLoss Mask R-CNN X101-64x4d-FPN, LVIS v1, 1x, random sampling.
_base_ = './droploss_x101-32x4d_lvis.py'

model = dict(
    backbone=dict(
        groups=64,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_64x4d')))
