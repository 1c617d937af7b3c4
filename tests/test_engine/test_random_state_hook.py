"""RandomStateHook: what a checkpoint's random state holds, where the hook
gathers it, and what a resume on other devices does."""

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from mmdet_droploss.engine import random_state_hook
from mmdet_droploss.engine.random_state_hook import (
    get_random_state,
    set_random_state,
)

BG = 4
FREQ = [0.5, 0.1, 0.001, 0.0001]


class ToyDataset(Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=torch.full((2, ), float(i)))


class ToyModel(BaseModel):
    """A linear layer with a DropLoss (so that the drop generator is in the
    checkpoint's state)."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 4)
        self.loss_cls = MODELS.build(
            dict(type='DropLoss', num_classes=4, category_freq=FREQ,
                 return_dict=False))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.linear(inputs)
        labels = torch.tensor([0, 2] + [BG] * (len(logits) - 2))
        return dict(loss=self.loss_cls(logits, labels))


def run_toy(work_dir: str, by_epoch: bool, length: int, interval: int,
            monkeypatch) -> int:
    """Train the toy model and return how many gathers the hook ran."""
    calls = []
    gather = random_state_hook.all_gather_object

    def counted(obj):
        calls.append(1)
        return gather(obj)

    monkeypatch.setattr(random_state_hook, 'all_gather_object', counted)
    loop = (dict(type='EpochBasedTrainLoop', max_epochs=length)
            if by_epoch else dict(type='IterBasedTrainLoop', max_iters=length))
    runner = Runner(
        model=ToyModel(),
        work_dir=work_dir,
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            collate_fn=dict(type='default_collate'),
            batch_size=4,
            num_workers=0),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        train_cfg=loop,
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=interval,
                            by_epoch=by_epoch)),
        custom_hooks=[dict(type='RandomStateHook')],
        default_scope='mmdet')
    runner.train()
    return len(calls)


@pytest.mark.parametrize(
    'by_epoch, length, interval, saves',
    [
        # iterations 4 and 8, and the last (10): 3 gathers, not 10
        (False, 10, 4, 3),
        # epochs 2 and the last (3)
        (True, 3, 2, 2),
    ])
def test_gathers_only_where_a_checkpoint_is_saved(tmp_path, monkeypatch,
                                                  by_epoch, length, interval,
                                                  saves):
    gathers = run_toy(str(tmp_path), by_epoch, length, interval, monkeypatch)
    assert gathers == saves
    # and every checkpoint holds the gathered states
    ckpts = sorted(tmp_path.glob('*.pth'))
    assert len(ckpts) == saves
    for path in ckpts:
        state = torch.load(path, weights_only=False)['random_state']
        assert state['world_size'] == 1
        assert 'loss_cls' in state['ranks'][0]['drop']


def drop_mask(loss, num_rois: int = 64) -> torch.Tensor:
    """The kept terms of a forward, read from the gradient of zero
    logits (every kept term has gradient +-0.5 / N)."""
    logits = torch.zeros(num_rois, 4, requires_grad=True)
    labels = torch.tensor([0, 2] + [BG] * (num_rois - 2))
    loss(logits, labels).backward()
    return logits.grad != 0


def test_drop_draws_continue_after_a_restore():
    model = ToyModel()
    drop_mask(model.loss_cls)  # the generator exists and has drawn
    state = get_random_state(model)
    expected = drop_mask(model.loss_cls)
    # r = 1 / 2: the draws keep about half of the background x tail terms
    assert 0.3 < expected[2:, 2:].float().mean() < 0.7
    # another process (a resumed run) restores the state
    resumed = ToyModel()
    set_random_state(state, resumed)
    assert torch.equal(drop_mask(resumed.loss_cls), expected)
    # and a fresh one does not draw the same (the comparison can fail)
    assert not torch.equal(drop_mask(ToyModel().loss_cls), expected)


class RecordedCuda:
    """The CUDA calls RandomStateHook makes, recorded, for a process that
    sees ``device_count`` devices (this machine has no GPU; each device's
    state is a real CPU generator's state)."""

    def __init__(self, monkeypatch, device_count: int) -> None:
        self.device_count = device_count
        self.restored = []
        states = [torch.Generator().manual_seed(i).get_state()
                  for i in range(device_count)]
        monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
        monkeypatch.setattr(torch.cuda, 'device_count', lambda: device_count)
        monkeypatch.setattr(torch.cuda, 'get_rng_state',
                            lambda device='cuda': states[0])
        monkeypatch.setattr(torch.cuda, 'get_rng_state_all', lambda: states)
        monkeypatch.setattr(torch.cuda, 'set_rng_state',
                            lambda s, device='cuda': self.restored.append(s))
        monkeypatch.setattr(torch.cuda, 'set_rng_state_all',
                            lambda s: self.restored.extend(s))


def test_resume_under_another_device_count(monkeypatch):
    """dist_train.sh with 8 visible GPUs, resumed under Slurm with one GPU
    per task: the process's own device state is saved and restored."""
    saving = RecordedCuda(monkeypatch, device_count=8)
    state = get_random_state()
    assert isinstance(state['cuda'], torch.Tensor)
    resuming = RecordedCuda(monkeypatch, device_count=1)
    set_random_state(state)
    assert len(resuming.restored) == 1
    assert torch.equal(resuming.restored[0], state['cuda'])
    assert not saving.restored
