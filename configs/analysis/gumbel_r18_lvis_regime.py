# The LVIS-regime experiment's Gumbel arm
# (configs/baselines/gumbel_r50_lvis.py).
_base_ = './droploss_r18_lvis_regime.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(_delete_=True, type='GumbelLoss', num_classes=200))))
