# DropLoss Mask R-CNN R50-FPN, LVIS v1, repeat-factor sampling at the
# authors' threshold, on the authors' 90k-iteration schedule (the numbers
# come from their detectron2 1x; see droploss_r50_90k_lvis.py).
_base_ = './droploss_r50_90k_lvis.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        # the authors' repeat-factor threshold (mmdet's LVIS default: 1e-3)
        oversample_thr=0.0005,
        dataset={{_base_.train_dataloader.dataset}}))
