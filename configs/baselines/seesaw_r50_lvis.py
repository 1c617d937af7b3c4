# Baseline: Seesaw loss (Wang et al., CVPR 2021), MMDetection's SeesawLoss
# as its LVIS v1 configs set it (configs/seesaw_loss/
# mask-rcnn_r50_fpn_seesaw-loss_random-ms-2x_lvis-v1.py): a softmax
# classifier (C + 2 outputs: classes, background, objectness) on a
# normalised linear layer, on our model, data, 1x schedule and metric.
_base_ = '../droploss_r50_lvis.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            # MMDetection's head: the sigmoid prior bias does not apply
            _delete_=True,
            type='Shared2FCBBoxHead',
            in_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=1203,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            # 'tempearture' is NormedLinear's own spelling
            cls_predictor_cfg=dict(type='NormedLinear', tempearture=20),
            loss_cls=dict(
                type='SeesawLoss', p=0.8, q=2.0, num_classes=1203,
                loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))

# no DropLoss to give frequencies to
custom_hooks = [dict(type='NumClassesCheckHook'), dict(type='RandomStateHook')]
