# DropLoss Mask R-CNN R50-FPN, LVIS v0.5 (1230 categories), 2x, random
# sampling: the authors' main v0.5 setting.
_base_ = 'mmdet::lvis/mask-rcnn_r50_fpn_sample1e-3_ms-2x_lvis-v0.5.py'
custom_imports = dict(imports=['mmdet_droploss'], allow_failed_imports=False)

model = dict(
    roi_head=dict(
        bbox_head=dict(
            type='DropLossBBoxHead',
            cls_prior_prob=0.001,
            loss_cls=dict(
                _delete_=True,
                type='DropLoss',
                num_classes=1230,
                # the authors' threshold, as on v1
                lambda_=0.00177,
                loss_weight=1.0))))

# uniform image sampling: the base's repeat-factor wrapper goes
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        # LVISV05Dataset loaded once per machine, shared by its ranks
        type='MachineSharedLVISV05Dataset',
        data_root='data/lvis_v0.5/',
        ann_file='annotations/lvis_v0.5_train.json',
        data_prefix=dict(img='train2017/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline={{_base_.train_pipeline}}))
val_dataloader = dict(dataset=dict(type='MachineSharedLVISV05Dataset'))
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
