# DropLoss with repeat-factor sampling at the authors' threshold.
_base_ = './droploss_r50_lvis.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        # the authors' repeat-factor threshold (mmdet's LVIS default: 1e-3)
        oversample_thr=0.0005,
        dataset={{_base_.train_dataloader.dataset}}))
