"""tools/analysis/background_scores.py: per-group scores of a trained model
on background and foreground proposals."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.logging import HistoryBuffer

from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'analysis' / 'background_scores.py'
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'droploss_r18_synthetic_demo.py'
spec = importlib.util.spec_from_file_location('background_scores', TOOL)
background_scores = importlib.util.module_from_spec(spec)
spec.loader.exec_module(background_scores)


def test_group_table_averages_over_categories():
    # categories 0, 1 rare, 2 common, 3 frequent; 10 background proposals
    group_of = np.array([0, 0, 1, 2])
    sums = dict(bg_sum=np.array([1.0, 3.0, 5.0, 0.5]),
                bg_count=np.array([10.0]), bg_over=np.array([2.0, 4.0, 0.0]),
                fg_sum=np.array([0.6, 0.0, 1.5, 8.0]),
                fg_count=np.array([2.0, 0.0, 3.0, 10.0]),
                fg_top1=np.array([1.0, 0.0, 3.0, 9.0]),
                fg_taken=np.array([3.0, 0.0, 1.0]),
                fg_other=np.array([13.0, 12.0, 5.0]))
    table = background_scores.group_table(sums, group_of)
    assert table['r'] == pytest.approx({'bg score': 0.2, 'bg > thr': 0.2,
                                        'fg score': 0.3, 'fg top-1': 0.5,
                                        'takes others': 3 / 13})
    assert table['c'] == {'bg score': 0.5, 'bg > thr': 0.4,
                          'fg score': 0.5, 'fg top-1': 1.0,
                          'takes others': 0.0}
    assert table['f'] == pytest.approx({'bg score': 0.05, 'bg > thr': 0.0,
                                        'fg score': 0.8, 'fg top-1': 0.9,
                                        'takes others': 0.2})


def test_group_without_foreground_is_nan():
    sums = dict(bg_sum=np.array([1.0, 1.0]), bg_count=np.array([4.0]),
                bg_over=np.zeros(3), fg_sum=np.array([0.0, 2.0]),
                fg_count=np.array([0.0, 4.0]), fg_top1=np.array([0.0, 4.0]),
                fg_taken=np.zeros(3), fg_other=np.array([4.0, 4.0, 0.0]))
    table = background_scores.group_table(sums, np.array([0, 2]))
    assert np.isnan(table['r']['fg score']) and table['f']['fg score'] == 0.5
    assert np.isnan(table['c']['bg score'])  # no category in the group


@pytest.fixture(scope='module')
def demo_run(tmp_path_factory) -> dict:
    """The 20-class demo model, saved untrained as a training checkpoint,
    and a tiny dataset of 20 categories for it."""
    root = tmp_path_factory.mktemp('bg_scores')
    make_synthetic_lvis(str(root / 'data'), seed=0, num_train=8, num_val=3,
                        image_size=96, num_active=20, only_active=True)
    cfg = Config.fromfile(str(DEMO_CONFIG))
    model = MODELS.build(cfg.model)
    # a visible score on every category, so the background sums are > 0
    torch.nn.init.constant_(model.roi_head.bbox_head.fc_cls.bias, -2.0)
    checkpoint = root / 'run' / 'epoch_1.pth'
    checkpoint.parent.mkdir()
    # as a training checkpoint: more than weights (torch.load must allow it)
    history = HistoryBuffer()
    history.update(1.0)
    torch.save(dict(state_dict=model.state_dict(),
                    message_hub=dict(log_scalars=dict(loss=history))),
               checkpoint)
    return dict(checkpoint=str(checkpoint), data=str(root / 'data'))


def run_tool(demo_run: dict, data_root: str, out: Path):
    return subprocess.run(
        [sys.executable, str(TOOL), str(DEMO_CONFIG), demo_run['checkpoint'],
         '--num-images', '2', '--out', str(out), '--cfg-options',
         f'test_dataloader.dataset.data_root={data_root}'],
        cwd=REPO, capture_output=True, text=True, timeout=300)


def test_tool_on_a_checkpoint(demo_run, tmp_path):
    out = tmp_path / 'scores.json'
    proc = run_tool(demo_run, demo_run['data'], out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(out.read_text())
    assert result['name'] == 'run' and result['num_images'] == 2
    groups = result['groups']
    assert set(groups) == {'r', 'c', 'f'}
    for row in groups.values():
        # every group's score on background proposals: sigmoid(-2) =
        # 0.119, moved a little by the random weights
        assert 0.05 < row['bg score'] < 0.3
        assert row['bg > thr'] > 0.9
    # foreground scores where the two images hold a group's objects
    fg = [row['fg score'] for row in groups.values()
          if not np.isnan(row['fg score'])]
    assert fg and all(0.05 < score < 0.3 for score in fg)


def test_tool_refuses_data_with_other_categories(demo_run, tiny_lvis,
                                                 tmp_path):
    proc = run_tool(demo_run, tiny_lvis['root'], tmp_path / 'scores.json')
    assert proc.returncode != 0
    assert 'the model has 20 classes but' in proc.stderr
    assert 'has 1203 categories' in proc.stderr
