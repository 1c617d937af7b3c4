# Baseline: the same sigmoid head and sampling, plain BCE (no term dropped).
_base_ = '../droploss_r50_lvis.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(mode='bce'))))
