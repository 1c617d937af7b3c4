# Baseline of the end-to-end long-tail experiment: Equalization Loss with
# the same tail set (lambda) as DropLoss.
_base_ = './droploss_r18_longtail_synthetic.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(mode='eql'))))
