# DropLoss Mask R-CNN X101-32x4d-FPN, LVIS v1, 1x, random sampling; the
# backbone of mmdet's mask-rcnn_x101-32x4d_fpn_sample1e-3_ms-1x_lvis-v1.
_base_ = './droploss_r50_lvis.py'

model = dict(
    backbone=dict(
        type='ResNeXt',
        depth=101,
        groups=32,
        base_width=4,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        style='pytorch',
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnext101_32x4d')))
