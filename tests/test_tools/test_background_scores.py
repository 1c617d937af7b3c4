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

REPO = Path(__file__).resolve().parents[2]
TOOL = REPO / 'tools' / 'analysis' / 'background_scores.py'
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


def test_tool_on_a_checkpoint(tiny_lvis, tmp_path):
    config = REPO / 'configs' / 'demo' / 'droploss_r18_synthetic_demo.py'
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    # a visible score on every category, so the background sums are > 0
    torch.nn.init.constant_(model.roi_head.bbox_head.fc_cls.bias, -2.0)
    checkpoint = tmp_path / 'run' / 'epoch_1.pth'
    checkpoint.parent.mkdir()
    # as a training checkpoint: more than weights (torch.load must allow it)
    torch.save(dict(state_dict=model.state_dict(),
                    message_hub=dict(log_scalars=dict(
                        loss=HistoryBuffer([1.0])))), checkpoint)
    out = tmp_path / 'scores.json'
    subprocess.run(
        [sys.executable, str(TOOL), str(config), str(checkpoint),
         '--num-images', '2', '--out', str(out), '--cfg-options',
         f'test_dataloader.dataset.data_root={tiny_lvis["root"]}'],
        cwd=REPO, check=True, capture_output=True, text=True, timeout=300)
    result = json.loads(out.read_text())
    assert result['name'] == 'run' and result['num_images'] == 2
    groups = result['groups']
    assert set(groups) == {'r', 'c', 'f'}
    for row in groups.values():
        if not np.isnan(row['bg score']):
            # sigmoid(-2) = 0.119, moved a little by the random weights
            assert 0.05 < row['bg score'] < 0.3
            assert row['bg > thr'] > 0.9
