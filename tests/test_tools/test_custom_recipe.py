"""The own-data recipe: COCO-format data with its own classes, end to end."""
import re

import numpy as np
import torch
from test_train_test_e2e import reduced_options, run

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.datasets.synthetic_lvis import make_synthetic_coco

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
