# DropLoss with a cosine classifier (MMDetection's NormedLinear, as its
# Seesaw Loss configs use it) on Mask R-CNN R50-FPN, LVIS v1, 1x.
_base_ = './droploss_r50_lvis.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            cls_predictor_cfg=dict(type='NormedLinear', tempearture=20))))
