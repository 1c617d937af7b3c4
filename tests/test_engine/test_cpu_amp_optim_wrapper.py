"""CPU mixed precision: bfloat16 autocast with float32 islands."""
import contextlib
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS, OPTIM_WRAPPERS
from mmengine.config import Config
from test_detector_families import REDUCED, train_batch

from mmdet_droploss.cpu import CPUAmpOptimWrapper
from mmdet_droploss.datasets import frequencies_from_annotations

CONFIG = Path(__file__).resolve().parents[2] / 'configs/droploss_r50_lvis.py'
# the drop generator's state at the start of both runs
DRAWS = dict(device='cpu', state=torch.Generator().manual_seed(5).get_state())
# measured: at most 7.2e-5 relative (loss_cls) on the newest stack, 7.0e-5
# on the GPU users' (bfloat16 autocast reaches the backbone and the heads;
# the losses are computed in float32); a draw of other drop masks moves
# loss_cls by 1.6e-3
RTOL = 3e-4


@pytest.fixture
def model_and_batch(tiny_lvis):
    cfg = Config.fromfile(str(CONFIG))
    cfg.merge_from_dict(REDUCED)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    freq = frequencies_from_annotations(tiny_lvis['train'])
    loss = model.roi_head.bbox_head.loss_cls
    # of the batch's two categories (training-image frequencies 0.375 and
    # 0.625) one is tail: r lies inside (0, 1) and background terms are
    # drawn
    loss.lambda_ = 0.5
    loss.set_category_freq(freq)
    model.train()
    return model, train_batch(tiny_lvis['root'])


def losses(model, batch, context) -> dict:
    torch.manual_seed(1)  # the RPN's and the sampler's draws
    model.roi_head.bbox_head.loss_cls.set_rng_state(DRAWS)  # the drops
    with context:
        outputs = model(**model.data_preprocessor(batch, True), mode='loss')
    total, log_vars = model.parse_losses(outputs)
    total.backward()
    return {k: v.item() for k, v in log_vars.items()}


def test_bfloat16_losses_match_float32(model_and_batch):
    model, batch = model_and_batch
    reference = losses(model, batch, contextlib.nullcontext())
    wrapper = OPTIM_WRAPPERS.build(
        dict(type='CPUAmpOptimWrapper',
             optimizer=torch.optim.SGD(model.parameters(), lr=0.01)))
    dtypes = []
    model.backbone.register_forward_hook(
        lambda mod, args, out: dtypes.append(out[0].dtype))
    model.zero_grad()
    mixed = losses(model, batch, wrapper.optim_context(model))
    assert dtypes == [torch.bfloat16]  # autocast did reach the backbone
    assert set(mixed) == set(reference)
    assert 0 < reference['drop_keep_ratio'] < 1  # the drops were drawn
    for key, value in reference.items():
        assert mixed[key] == pytest.approx(value, rel=RTOL, abs=1e-6), key
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    wrapper.step()


def test_only_bfloat16():
    with pytest.raises(ValueError, match="supports dtype='bfloat16'"):
        CPUAmpOptimWrapper(
            dtype='float16',
            optimizer=torch.optim.SGD([torch.zeros(1, requires_grad=True)],
                                      lr=0.1))
