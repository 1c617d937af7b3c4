# The LVIS-regime experiment's Seesaw arm: MMDetection's SeesawLoss as its
# LVIS configs set it (configs/baselines/seesaw_r50_lvis.py), on the
# reduced head (128-channel FPN, 512-channel FCs).
_base_ = './droploss_r18_lvis_regime.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='Shared2FCBBoxHead',
            in_channels=128,
            fc_out_channels=512,
            roi_feat_size=7,
            num_classes=200,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
            loss_cls=dict(
                type='SeesawLoss', p=0.8, q=2.0, num_classes=200,
                loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
