# Recipe: DropLoss Mask R-CNN R50-FPN on your own long-tailed COCO-format
# data. Set data_root, classes and lambda_ (docs/data.md, "Your own
# COCO-format data"); the category frequencies are computed from the
# training annotations.
_base_ = '../droploss_r50_lvis.py'

data_root = 'data/my_coco/'
# your categories, as named in the annotation files
classes = ('class_0', 'class_1', 'class_2', 'class_3', 'class_4', 'class_5',
           'class_6', 'class_7')
num_classes = len(classes)
metainfo = dict(classes=classes)

model = dict(
    roi_head=dict(
        bbox_head=dict(
            num_classes=num_classes,
            # tail = categories in fewer than K of the N annotated training
            # images: lambda_ = K / N (tools/misc/export_category_freq.py
            # --tail-images K prints it); here K = 4 of N = 40
            loss_cls=dict(num_classes=num_classes, lambda_=0.1)),
        mask_head=dict(num_classes=num_classes)),
    # COCO's detection budget instead of LVIS's 300 per image
    test_cfg=dict(rcnn=dict(score_thr=0.05, max_per_img=100)))

train_dataloader = dict(
    dataset=dict(
        # CocoDataset loaded once per machine, shared by its ranks
        type='MachineSharedCocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='')))
val_dataloader = dict(
    dataset=dict(
        # CocoDataset loaded once per machine, shared by its ranks
        type='MachineSharedCocoDataset',
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='')))
test_dataloader = val_dataloader

# exhaustive COCO annotations: COCO's AP, not LVIS's federated one
val_evaluator = dict(
    _delete_=True,
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_val.json',
    metric=['bbox', 'segm'])
test_evaluator = val_evaluator
