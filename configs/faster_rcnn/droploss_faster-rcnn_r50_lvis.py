# Faster R-CNN R50-FPN (boxes only), LVIS v1, 1x, random sampling, DropLoss.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/lvis_v1_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mmdet_droploss'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='DropLossBBoxHead',
            num_classes=1203,
            loss_cls=dict(
                _delete_=True,
                type='DropLoss',
                num_classes=1203,
                lambda_=0.00177))),
    test_cfg=dict(rcnn=dict(score_thr=0.0001, max_per_img=300)))

# boxes only: no masks loaded, box AP only
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomChoiceResize',
        scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736),
                (1333, 768), (1333, 800)],
        keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor'))
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        # LVISV1Dataset loaded once per machine, shared by its ranks
        type='MachineSharedLVISV1Dataset',
        data_root='data/lvis_v1/',
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(type='MachineSharedLVISV1Dataset', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='FastLVISMetric', metric='bbox')
test_evaluator = val_evaluator
# model and data checked to agree on the classes; frequencies from the
# training set; random streams saved for --resume
custom_hooks = [
    dict(type='NumClassesCheckHook'),
    dict(type='CategoryFrequencyHook'),
    dict(type='RandomStateHook')
]
