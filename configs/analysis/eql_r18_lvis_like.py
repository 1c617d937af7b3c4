# Baseline of the LVIS-shaped experiment: Equalization Loss with the same
# tail set (lambda) as DropLoss.
_base_ = './droploss_r18_lvis_like.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(mode='eql'))))
