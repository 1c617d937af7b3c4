# DropLoss Mask R-CNN R50-FPN, LVIS v1, repeat-factor sampling: the authors'
# recipe as their detectron2 LVIS configs give it
# (droploss_resampling_mask_rcnn_R_50_FPN_1x.yaml; everything else as
# droploss_r50-caffe_90k_lvis.py).
_base_ = './droploss_r50-caffe_90k_lvis.py'

train_dataloader = dict(
    sampler=dict(
        _delete_=True,
        # DATALOADER.SAMPLER_TRAIN 'RepeatFactorTrainingSampler': repeat
        # factors rounded at random anew each epoch (RepeatFactorSampler),
        # at DATALOADER.REPEAT_THRESHOLD 0.0005, as
        # droploss_r50_rfs_90k_lvis.py
        type='RepeatFactorSampler',
        oversample_thr=0.0005))
