# The LVIS-regime experiment's baseline and its stage 1: plain sigmoid BCE.
_base_ = './droploss_r18_lvis_regime.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(mode='bce'))))
