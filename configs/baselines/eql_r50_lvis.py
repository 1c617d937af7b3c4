# Baseline: Equalization Loss (Tan et al., CVPR 2020) under the same head:
# foreground RoIs spare tail categories, background RoIs keep every term.
_base_ = '../droploss_r50_lvis.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(mode='eql'))))
