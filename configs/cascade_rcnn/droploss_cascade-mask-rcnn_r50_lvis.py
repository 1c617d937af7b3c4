# Cascade Mask R-CNN R50-FPN, LVIS v1, 1x, random sampling, with DropLoss in
# each of the three stages (MMDetection's cascade heads, DropLoss head type).
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/lvis_v1_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmdet_droploss'], allow_failed_imports=False)

num_classes = 1203
# box-delta scales of the three stages, as in mmdet's cascade base
stage_target_stds = [[0.1, 0.1, 0.2, 0.2], [0.05, 0.05, 0.1, 0.1],
                     [0.033, 0.033, 0.067, 0.067]]
model = dict(
    roi_head=dict(
        bbox_head=[
            dict(
                type='DropLossBBoxHead',
                in_channels=256,
                fc_out_channels=1024,
                roi_feat_size=7,
                num_classes=num_classes,
                bbox_coder=dict(
                    type='DeltaXYWHBBoxCoder',
                    target_means=[0., 0., 0., 0.],
                    target_stds=stds),
                reg_class_agnostic=True,
                loss_cls=dict(
                    type='DropLoss', num_classes=num_classes,
                    lambda_=0.00177),
                loss_bbox=dict(type='SmoothL1Loss', beta=1.0,
                               loss_weight=1.0)) for stds in stage_target_stds
        ],
        mask_head=dict(num_classes=num_classes)),
    # LVIS allows up to 300 detections per image
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))

# uniform image sampling: the base's repeat-factor wrapper goes
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        # LVISV1Dataset loaded once per machine, shared by its ranks
        type='MachineSharedLVISV1Dataset',
        data_root='data/lvis_v1/',
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(type='MachineSharedLVISV1Dataset'))
test_dataloader = val_dataloader
val_evaluator = dict(type='FastLVISMetric')
test_evaluator = val_evaluator
# model and data checked to agree on the classes; frequencies from the
# training set; random streams saved for --resume
custom_hooks = [
    dict(type='NumClassesCheckHook'),
    dict(type='CategoryFrequencyHook'),
    dict(type='RandomStateHook')
]
