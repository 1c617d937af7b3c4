# The LVIS-regime experiment's Equalization Loss, with DropLoss's tail set.
_base_ = './droploss_r18_lvis_regime.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(mode='eql'))))
