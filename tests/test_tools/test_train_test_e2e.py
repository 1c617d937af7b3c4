"""tools/train.py and tools/test.py as a user runs them, on synthetic data."""
import copy
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from lvis import LVIS, LVISEval, LVISResults

from mmdet_droploss.datasets import frequencies_from_annotations
from mmdet_droploss.evaluation.fast_lvis_metric import (
    RESULT_KEYS,
    lvis_results,
)

REPO = Path(__file__).resolve().parents[2]
HELPERS = Path(__file__).resolve().parents[1] / 'helpers'
CONFIG = 'configs/demo/droploss_r50_synthetic.py'


def echo_config(tmp_path: Path) -> str:
    """The demo config with ``GroundTruthEchoDetector``: detections derived
    from the ground truth, so that evaluations give informative numbers."""
    path = tmp_path / 'echo_config.py'
    path.write_text(
        f"_base_ = '{REPO / CONFIG}'\n"
        f"import sys\nsys.path.insert(0, '{HELPERS}')\n"
        "custom_imports = dict(imports=['mmdet_droploss', "
        "'gt_echo_detector'], allow_failed_imports=False)\n"
        "model = dict(_delete_=True, type='GroundTruthEchoDetector', "
        "data_preprocessor=dict(type='DetDataPreprocessor', "
        "mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], "
        "bgr_to_rgb=True, pad_size_divisor=32))\n")
    return str(path)


def assert_informative(metrics: dict) -> None:
    """The numbers a comparison rests on are neither all 0 nor -1."""
    assert 0 < metrics['bbox_AP'] < 1 and 0 < metrics['segm_AP'] < 1
    assert sum(v not in (0, -1) for v in metrics.values()) >= \
        len(metrics) // 2, metrics


def reduced_options(root: str, val_ann_file: str = '') -> list:
    """--cfg-options of a small, fast model on a tiny dataset in ``root``
    (its validation annotations: LVIS v1's file name unless given)."""
    val_ann_file = val_ann_file or f'{root}/annotations/lvis_v1_val.json'
    options = [
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        f'val_evaluator.ann_file={val_ann_file}',
        f'test_evaluator.ann_file={val_ann_file}',
        'model.backbone.depth=18',
        'model.neck.in_channels=[64,128,256,512]',
        'model.train_cfg.rpn_proposal.nms_pre=200',
        'model.train_cfg.rpn_proposal.max_per_img=100',
        'model.train_cfg.rcnn.sampler.num=64',
        'model.test_cfg.rpn.nms_pre=100',
        'model.test_cfg.rpn.max_per_img=50',
        'model.test_cfg.rcnn.max_per_img=20',
        'train_cfg.max_epochs=1',
        'train_cfg.val_interval=1',
        'default_hooks.logger.interval=1',
        'randomness.seed=0',
    ]
    for loader in ('train', 'val', 'test'):
        options += [f'{loader}_dataloader.num_workers=0',
                    f'{loader}_dataloader.persistent_workers=False']
    return options


def run(args: list) -> str:
    proc = subprocess.run(
        [sys.executable, *args], cwd=REPO, capture_output=True, text=True,
        timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    return output


def logged_metrics(output: str) -> dict:
    return {
        f'{t}_{k}': float(v)
        for t, k, v in re.findall(r'lvis/(bbox|segm)_(\w+): (-?[\d.]+)',
                                  output)
    }


def test_train_then_test(tiny_lvis, tmp_path, monkeypatch):
    root = tiny_lvis['root']
    work_dir = tmp_path / 'work'
    train_log = run(['tools/train.py', CONFIG, '--work-dir', str(work_dir),
                     '--cfg-options', *reduced_options(root)])
    assert 'drop_keep_ratio' in train_log
    checkpoint = work_dir / 'epoch_1.pth'
    assert checkpoint.is_file()

    # the frequencies computed before training travel in the checkpoint
    state = torch.load(checkpoint, map_location='cpu',
                       weights_only=False)['state_dict']
    freq = state['roi_head.bbox_head.loss_cls.category_freq'].numpy()
    assert np.array_equal(freq, frequencies_from_annotations(
        tiny_lvis['train']))

    test_log = run(['tools/test.py', CONFIG, str(checkpoint),
                    '--work-dir', str(tmp_path / 'test'),
                    '--cfg-options', *reduced_options(root)])
    metrics = logged_metrics(test_log)
    assert set(metrics) == {f'{t}_{k}' for t in ('bbox', 'segm')
                            for k in RESULT_KEYS}

    # The printed numbers are the official LVIS evaluation of the dumped
    # predictions (lvis-api, with the numpy alias it needs lent). A model
    # trained for 4 iterations scores 0 everywhere, which any evaluation
    # matches: detections derived from the ground truth go through the
    # same test path instead.
    out = tmp_path / 'predictions.pkl'
    test_log = run(['tools/test.py', echo_config(tmp_path), str(checkpoint),
                    '--work-dir', str(tmp_path / 'echo'), '--out', str(out),
                    '--cfg-options', *reduced_options(root)])
    metrics = logged_metrics(test_log)
    assert_informative(metrics)
    with open(out, 'rb') as f:
        samples = pickle.load(f)
    results = [
        dict(img_id=s['img_id'],
             **{k: np.asarray(v) if k != 'masks' else v
                for k, v in s['pred_instances'].items()}) for s in samples
    ]
    monkeypatch.setattr(np, 'float', float, raising=False)
    gt = LVIS(tiny_lvis['val'])
    for iou_type in ('bbox', 'segm'):
        dets = lvis_results(results, iou_type, sorted(gt.get_cat_ids()))
        ref = LVISEval(gt, LVISResults(gt, copy.deepcopy(dets)), iou_type)
        ref.run()
        for key, value in ref.get_results().items():
            if key in RESULT_KEYS:
                assert metrics[f'{iou_type}_{key}'] == pytest.approx(
                    float(value), abs=1e-4)


def test_cfg_options_reach_the_loss(tiny_lvis, tmp_path):
    """A bad value given on the command line fails with the loss's message."""
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', CONFIG, '--work-dir',
         str(tmp_path), '--cfg-options', *reduced_options(tiny_lvis['root']),
         'model.roi_head.bbox_head.loss_cls.lambda_=1.5'],
        cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    assert 'lambda_ must lie in (0, 1), got 1.5' in proc.stderr


def test_amp_on_the_cpu(tiny_lvis, tmp_path):
    """--amp without CUDA trains in bfloat16 autocast, losses finite."""
    log = run(['tools/train.py', CONFIG, '--amp', '--work-dir',
               str(tmp_path), '--cfg-options',
               *reduced_options(tiny_lvis['root']),
               'train_cfg.val_interval=2'])
    assert 'CPUAmpOptimWrapper: bfloat16 autocast' in log
    losses = [float(v) for v in re.findall(r' loss: (\S+)', log)]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert (tmp_path / 'epoch_1.pth').is_file()
