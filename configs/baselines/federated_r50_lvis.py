# Baseline: federated loss (Zhou et al., 2021; detectron2's use_fed_loss) on
# the same sigmoid head: BCE over the batch's categories and negatives drawn
# in proportion to image frequency ** 0.5, 50 categories in all
# (detectron2's FED_LOSS_NUM_CLASSES and FED_LOSS_FREQ_WEIGHT_POWER).
_base_ = '../droploss_r50_lvis.py'

model = dict(
    roi_head=dict(
        bbox_head=dict(
            loss_cls=dict(
                _delete_=True, type='FederatedLoss', num_classes=1203,
                # None: CategoryFrequencyHook fills it from the train set
                category_freq=None,
                num_sampled_classes=50,
                freq_weight_power=0.5))))
