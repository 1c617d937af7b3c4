# DropLoss Mask R-CNN R50-FPN, LVIS v1, repeat-factor sampling at the
# authors' threshold, on the authors' 90k-iteration schedule (the numbers
# come from their detectron2 1x; see droploss_r50_90k_lvis.py).
_base_ = './droploss_r50_90k_lvis.py'

train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        # detectron2's RepeatFactorTrainingSampler (the authors'): repeat
        # factors rounded at random anew each epoch, not ClassBalancedDataset's
        # ceil; the authors' threshold (mmdet's LVIS default: 1e-3)
        type='RepeatFactorSampler',
        oversample_thr=0.0005))
