# DropLoss Mask R-CNN R50-FPN, LVIS v1, 2x (24 epochs), random sampling.
_base_ = './droploss_r50_lvis.py'

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[16, 22],  # mmdet's 2x schedule
        gamma=0.1)
]
