"""The own-data recipe: COCO-format data with its own classes, end to end."""
import re

import numpy as np
import torch
from test_train_test_e2e import reduced_options, run

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.testing.synthetic_lvis import make_synthetic_coco

CONFIG = 'configs/custom/droploss_r50_coco_format.py'
CLASSES = tuple(f'class_{i}' for i in range(8))


def test_coco_format_recipe(tmp_path):
    root = tmp_path / 'my_coco'
    paths = make_synthetic_coco(str(root), CLASSES, seed=1, num_train=8,
                                num_val=4, image_size=96, max_objects=4)
    options = reduced_options(str(root), paths['val']) + [
        'model.backbone.init_cfg=None',
        # an untrained model scores about the prior (0.001) everywhere
        'model.test_cfg.rcnn.score_thr=0.0001',
    ]
    work = tmp_path / 'work'
    log = run(['tools/train.py', CONFIG, '--work-dir', str(work),
               '--cfg-options', *options])
    assert 'categories below lambda_=0.1 are tail' in log
    state = torch.load(work / 'epoch_1.pth', map_location='cpu',
                       weights_only=False)['state_dict']
    freq = state['roi_head.bbox_head.loss_cls.category_freq'].numpy()
    assert freq.shape == (8, )
    assert np.array_equal(freq, frequencies_from_annotations(paths['train']))

    log = run(['tools/test.py', CONFIG, str(work / 'epoch_1.pth'),
               '--work-dir', str(tmp_path / 'test'), '--cfg-options',
               *options])
    assert re.search(r'coco/bbox_mAP: -?[\d.]+', log)
    assert re.search(r'coco/segm_mAP: -?[\d.]+', log)


def test_inherited_values_that_no_longer_fit_are_named(tmp_path):
    """A config that inherits the recipe and sets only the variables
    `classes` and `data_root` (which reach none of the recipe's dataset
    dicts) stops naming them and the fix (was: 'need at least one array to
    concatenate')."""
    import subprocess
    import sys

    from test_train_test_e2e import REPO
    root = tmp_path / 'pets'
    names = ('cat', 'dog', 'hamster')
    make_synthetic_coco(str(root), names, num_train=4, num_val=2,
                        image_size=96)
    child = tmp_path / 'pets.py'
    child.write_text(f"_base_ = '{REPO / CONFIG}'\n"
                     f"data_root = '{root}/'\nclasses = {names!r}\n")

    def train(*options: str) -> str:
        proc = subprocess.run(
            [sys.executable, 'tools/train.py', str(child), '--work-dir',
             str(tmp_path / 'work'), '--cfg-options', *options],
            cwd=REPO, capture_output=True, text=True, timeout=300)
        assert proc.returncode != 0
        return proc.stdout + proc.stderr

    # as written: the datasets still read the recipe's data/my_coco/
    output = train('model.backbone.init_cfg=None')
    assert f"The config sets data_root='{root}/', but its datasets read " \
        "['data/my_coco/']" in output
    # the folders given, the recipe's class names remain
    output = train('model.backbone.init_cfg=None', *[
        f'{k}_dataloader.dataset.data_root={root}' for k in ('train', 'val')
    ], f'val_evaluator.ann_file={root}/annotations/instances_val.json')
    assert "metainfo classes ['class_0', 'class_1', 'class_2', 'class_3'," \
        in output
    assert "which names ['cat', 'dog', 'hamster']" in output
    assert 'need at least one array' not in output
