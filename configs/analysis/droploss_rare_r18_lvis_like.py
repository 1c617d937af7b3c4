# The LVIS-shaped experiment's DropLoss with the rare group alone in the
# tail set: lambda 0.0075 = 10.5 of 1,400 training images, between the
# rare (1-10 images) and common (11-100) groups. Tests whether keeping the
# common categories' foreground negatives recovers their AP.
_base_ = './droploss_r18_lvis_like.py'

model = dict(roi_head=dict(bbox_head=dict(loss_cls=dict(lambda_=0.0075))))
