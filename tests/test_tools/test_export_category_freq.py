import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from mmdet.registry import MODELS
from mmdet_droploss.datasets import frequencies_from_annotations

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
    assert np.array_equal(table['frequencies'], expected)
    assert table['num_images'] == 8
    num_tail = int(np.sum(expected < 0.2))
    assert f'lambda 0.2: {num_tail} of 1203 categories' in proc.stdout

    loss = MODELS.build(dict(type='DropLoss', num_classes=1203, lambda_=0.2,
                             category_freq=str(out)))
    assert int(loss.tail_mask.sum()) == num_tail
