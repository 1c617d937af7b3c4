# DropLoss Mask R-CNN R50-FPN, LVIS v1, random sampling, on the authors'
# schedule. The numbers come from the authors' detectron2 1x (their LVIS
# configs): 90,000 iterations of 16 images at lr 0.02, divided by 10 at
# iterations 60,000 and 80,000. That is 1,440,000 images, about 14.4 epochs
# of LVIS v1's 100,170 training images, where MMDetection's 1x (12 epochs,
# droploss_r50_lvis.py) sees about 74,500 iterations' worth.
_base_ = './droploss_r50_lvis.py'

max_iters = 90000
interval = 10000

# the infinite sampler of MMDetection's iteration-based configs
# (configs/common/ms-90k_coco.py): no epoch boundary to wait for
train_dataloader = dict(sampler=dict(type='InfiniteSampler', shuffle=True))

# _delete_: the base's EpochBasedTrainLoop arguments (max_epochs) do not
# apply to an IterBasedTrainLoop
train_cfg = dict(
    _delete_=True,
    type='IterBasedTrainLoop',
    max_iters=max_iters,
    val_interval=interval)

param_scheduler = [
    # MMDetection's linear warm-up (the base's, counted in iterations)
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0,
        end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_iters,
        by_epoch=False,
        milestones=[60000, 80000],
        gamma=0.1)
]

# lr 0.02 for 16 images: 8 GPUs x 2; --auto-scale-lr scales it to yours
optim_wrapper = dict(optimizer=dict(lr=0.02))
auto_scale_lr = dict(base_batch_size=16)

default_hooks = dict(checkpoint=dict(by_epoch=False, interval=interval))
log_processor = dict(by_epoch=False)
