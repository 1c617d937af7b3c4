# Baseline: Equalization Loss v2 (Tan et al., CVPR 2021) on the same head:
# C + 1 sigmoid outputs (the last an objectness column), gamma 12, mu 0.8,
# alpha 4 (the EQLv2 repository's defaults). The package's EQLv2Loss, not
# MMDetection's EQLV2Loss: that one tests with a softmax in BBoxHead and
# weights each rank by its own statistics (mmdet_droploss/models/
# eqlv2_loss.py says why).
_base_ = '../droploss_r50_lvis.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True, type='EQLv2Loss', num_classes=1203,
                gamma=12, mu=0.8, alpha=4.0))))

# no category frequencies: the weights come from the gradient statistics
custom_hooks = [dict(type='NumClassesCheckHook'), dict(type='RandomStateHook')]
