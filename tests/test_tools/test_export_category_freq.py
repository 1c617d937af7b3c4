import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch.nn as nn
from mmdet.registry import MODELS

from mmdet_droploss.datasets import frequencies_from_annotations

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'test_engine'))
from test_category_frequency_hook import lvis_dataset, run_hook  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_export_then_load(tiny_lvis, tmp_path):
    out = tmp_path / 'freq.json'
    proc = subprocess.run(
        [sys.executable, 'tools/misc/export_category_freq.py',
         tiny_lvis['train'], '--out', str(out), '--lambda', '0.2'],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(out.read_text())
    expected = frequencies_from_annotations(tiny_lvis['train'])
    # keyed by category id (the synthetic file's ids are 1..1203)
    ids = [c['id'] for c in table['categories']]
    assert ids == sorted(ids) and len(ids) == 1203
    assert np.array_equal([c['frequency'] for c in table['categories']],
                          expected)
    assert 'frequencies' not in table  # no list to mistake for labels
    assert table['num_images'] == 8
    num_tail = int(np.sum(expected < 0.2))
    assert 0 < num_tail < 1203
    assert f'lambda 0.2: {num_tail} of 1203 categories' in proc.stdout

    model = nn.Module()
    model.loss_cls = MODELS.build(dict(
        type='DropLoss', num_classes=1203, lambda_=0.2,
        category_freq=str(out)))
    run_hook(model, lvis_dataset(tiny_lvis['root']))
    assert np.array_equal(model.loss_cls.category_freq.numpy(), expected)
    assert int(model.loss_cls.tail_mask.sum()) == num_tail
