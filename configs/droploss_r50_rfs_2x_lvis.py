# DropLoss, LVIS v1, 2x, repeat-factor sampling (0.0005).
_base_ = './droploss_r50_2x_lvis.py'

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=0.0005,
        dataset={{_base_.train_dataloader.dataset}}))
