"""The classifier stage of the LVIS-regime experiment on a small copy of its
data: the cache holds what the sampler picked, the retrained classifier is
the only change, and DropLoss's logged keep ratio is each batch's r."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.testing.lvis_like import make_lvis_regime

REPO = Path(__file__).resolve().parents[2]
NUM_IMAGES = 8


@pytest.fixture(scope='module')
def stage1(tmp_path_factory) -> dict:
    """The experiment's configs on 8 images of a 1,200-image copy of the
    data, and a stage-1 checkpoint of random weights."""
    tmp = tmp_path_factory.mktemp('lvis_regime')
    paths = make_lvis_regime(str(tmp / 'data'), seed=0, num_train=1_200)
    configs = {}
    for arm in ('sigmoid', 'droploss'):
        configs[arm] = tmp / f'{arm}.py'
        configs[arm].write_text(
            f"_base_ = '{REPO}/configs/analysis/{arm}_r18_lvis_regime.py'\n"
            f"train_dataloader = dict(num_workers=0, persistent_workers="
            f"False, dataset=dict(data_root='{tmp / 'data'}/', "
            f"indices={NUM_IMAGES}))\n")
    cfg = Config.fromfile(str(configs['sigmoid']))
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = tmp / 'stage1.pth'
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, checkpoint)
    cache = tmp / 'cache.pt'
    subprocess.run(
        [sys.executable, 'tools/analysis/lvis_regime.py', 'cache',
         str(configs['sigmoid']), str(checkpoint), str(cache), '--passes',
         '2'], cwd=REPO, check=True, capture_output=True)
    return dict(tmp=tmp, configs=configs, checkpoint=checkpoint, cache=cache,
                train=paths['train'])


def test_cache_holds_the_sampled_rois(stage1):
    batches = torch.load(stage1['cache'])
    # 2 passes of 2 batches of 4 images, 64 RoIs each
    assert len(batches) == 2 * NUM_IMAGES // 4
    for batch in batches:
        assert batch['feats'].shape == (4 * 64, 512)
        labels = batch['labels'].long()
        assert ((labels >= 0) & (labels <= 200)).all()
        fg = (labels < 200).sum()
        # at most 25% positives, and the ground truth is among them
        assert 0 < fg <= 64
    # another sampling in the second pass
    assert not torch.equal(batches[0]['feats'], batches[2]['feats'])


def test_classifier_retrains_fc_cls_alone(stage1):
    out = stage1['tmp'] / 'droploss.pth'
    subprocess.run(
        [sys.executable, 'tools/analysis/lvis_regime.py', 'classifier',
         str(stage1['configs']['droploss']), str(stage1['checkpoint']),
         str(stage1['cache']), str(out), '--epochs', '3'],
        cwd=REPO, check=True, capture_output=True)
    before = torch.load(stage1['checkpoint'])['state_dict']
    after = torch.load(out)['state_dict']
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    # and the arm's frequencies, which the checkpoint carries
    freq = 'roi_head.bbox_head.loss_cls.category_freq'
    assert changed == {'roi_head.bbox_head.fc_cls.weight',
                       'roi_head.bbox_head.fc_cls.bias', freq}
    assert np.allclose(after[freq].numpy(), frequencies_from_annotations(
        stage1['train'], [c['id'] for c in json.loads(
            Path(stage1['train']).read_text())['categories']]))
    stats = json.loads(out.with_suffix('.stats.json').read_text())
    assert stats['mode'] == 'drop' and stats['iterations'] == 3 * 4
    # the logged keep ratio is each batch's r: tail foreground RoIs over
    # foreground RoIs (every batch once per pass)
    with open(stage1['train']) as f:
        cats = json.load(f)['categories']
    tail = torch.tensor([c['image_count'] / 1200 < 0.0101 for c in cats])
    ratios = []
    for batch in torch.load(stage1['cache']):
        labels = batch['labels'].long()
        fg = labels[labels < 200]
        ratios.append(float(tail[fg].float().mean()))
    assert stats['mean_keep_ratio'] == pytest.approx(np.mean(ratios),
                                                     abs=1e-6)
    assert 0 < stats['mean_keep_ratio'] < 1
    assert sum(stats['pos']) > 0 and sum(stats['neg_bg']) > 0
