# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Evaluate the predictions ``tools/test.py --out`` dumped, offline.

    python tools/eval.py CONFIG RESULTS.pkl [--cfg-options ...]

The config's ``test_evaluator`` runs on the file, against the annotations of
its ``test_dataloader``: the same numbers as the test run that wrote it.
MMDetection's ``tools/analysis_tools/eval_metric.py`` does the same with the
``val_evaluator``. The metrics are printed as one JSON line.
"""
import argparse
import json

import mmengine
from mmdet.registry import DATASETS
from mmengine.config import DictAction
from mmengine.evaluator import Evaluator
from mmengine.registry import init_default_scope

from mmdet_droploss.utils import load_config


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Evaluate predictions dumped by tools/test.py --out')
    parser.add_argument('config', help='the config the test ran with')
    parser.add_argument('results', help='the .pkl file of --out')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override settings of the config, key=value')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    # the dataset's metainfo names the classes the metric reports
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    evaluator = Evaluator(cfg.test_evaluator)
    evaluator.dataset_meta = dataset.metainfo
    metrics = evaluator.offline_evaluate(mmengine.load(args.results))
    print(json.dumps(metrics))


if __name__ == '__main__':
    main()
