"""tools/test.py --show-dir, as `make demo` runs it with the demo config."""
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.utils import import_modules_from_strings

from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis

REPO = Path(__file__).resolve().parents[2]
CONFIG = 'configs/demo/droploss_r18_synthetic_demo.py'


def test_show_dir_paints_every_test_image(tmp_path):
    # the demo's 20-class data, three validation images
    root = tmp_path / 'data'
    paths = make_synthetic_lvis(
        str(root), seed=0, num_train=4, num_val=3, image_size=96,
        num_active=20, only_active=True)
    # untrained weights: what is painted does not matter here, only that
    # the predictions are painted
    cfg = Config.fromfile(str(REPO / CONFIG))
    import_modules_from_strings(**cfg.custom_imports)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    checkpoint = tmp_path / 'random.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)

    proc = subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG, str(checkpoint),
         '--work-dir', str(tmp_path / 'work'), '--show-dir', 'vis',
         '--cfg-options', f'test_dataloader.dataset.data_root={root}',
         f'test_evaluator.ann_file={paths["val"]}',
         'test_dataloader.num_workers=0',
         'test_dataloader.persistent_workers=False',
         # an untrained sigmoid classifier scores about its prior, 0.001
         'default_hooks.visualization.score_thr=0'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]

    found = re.findall(r'(\d+) images painted with the predictions: (\S+)',
                       output)
    assert len(found) == 1, output[-3000:]
    count, folder = int(found[0][0]), Path(found[0][1])
    # <work_dir>/<timestamp>/<--show-dir>
    assert folder.parent.parent == tmp_path / 'work'
    assert folder.name == 'vis'
    originals = sorted((root / 'val2017').glob('*.jpg'))
    assert count == 3
    assert sorted(p.name for p in folder.iterdir()) == [
        p.name for p in originals
    ]
    for original in originals:
        image = cv2.imread(str(original))
        painted = cv2.imread(str(folder / original.name))
        # ground truth on the left, predictions on the right, both painted
        assert painted.shape == (96, 192, 3)
        for half in (painted[:, :96], painted[:, 96:]):
            changed = np.abs(half.astype(int) - image).max(axis=2) > 40
            assert changed.mean() > 0.01
