# The LVIS-regime experiment's federated-loss arm
# (configs/baselines/federated_r50_lvis.py), its budget scaled: detectron2's
# 50 of LVIS's 1,203 categories leave some 35 sampled negatives (3% of the
# categories) beside a 2-image batch's present ones; a 4-image batch here
# holds about 14 categories, and 20 leaves some 6 negatives (3% of 200).
_base_ = './droploss_r18_lvis_regime.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True, type='FederatedLoss', num_classes=200,
                num_sampled_classes=20))))
