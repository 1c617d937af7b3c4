# DropLoss on LVIS v0.5 with repeat-factor sampling at the authors' threshold.
_base_ = './droploss_r50_lvis_v0.5.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=0.0005,  # the authors' (mmdet's LVIS default: 1e-3)
        dataset={{_base_.train_dataloader.dataset}}))
