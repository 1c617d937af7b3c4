# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""A classifier-level long-tail benchmark: plain sigmoid BCE, EQL and
DropLoss on synthetic RoI features.

Categories get LVIS-like training image counts (rare 1-10, common 11-100,
frequent over 100). Every training image of a category gives a few
foreground RoIs near the category's prototype; background RoIs (three per
foreground RoI, as Mask R-CNN's 25% positive sampler gives) are partly
random clutter and partly poorly placed boxes on objects, which look a little
like their object. The same box-head classifier (two FC layers, C sigmoid
outputs with the prior bias) is trained with each loss, built from the
registry, over several seeds. The evaluation is detector-like: a test RoI
keeps only its top ``--topk`` class scores, as a per-image detection cap
does, and AP is computed per category over all test detections, then averaged
per frequency group.

    python tools/analysis/longtail_benchmark.py [--seeds 3] [--out DIR]

With ``--out`` each method's mean AP (and per-category AP) is written to
``DIR/<method>/results.eval.json``, which ``tools/analysis/plot_pareto.py``
and ``plot_ap_by_frequency.py`` read.
"""
import argparse
import json
import os
import os.path as osp
import time
from typing import Dict, List, Tuple

import numpy as np
import torch
from eval_results import GROUP_KEYS
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from torch import Tensor, nn

import mmdet_droploss  # noqa: F401  (registers DropLoss)

METHODS = {'sigmoid': 'bce', 'eql': 'eql', 'droploss': 'drop'}
GROUPS = {'r': (1, 10), 'c': (11, 100), 'f': (101, 1000)}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--seeds', type=int, default=3)
    parser.add_argument('--num-classes', type=int, default=300)
    parser.add_argument('--shares', type=float, nargs=3,
                        default=(0.28, 0.38, 0.34),
                        help='shares of rare, common, frequent categories '
                        '(LVIS v1: 0.28 0.38 0.34)')
    parser.add_argument('--num-images', type=int, default=20_000,
                        help='training images, the denominator of the '
                        'frequencies')
    parser.add_argument('--lambda', dest='lambda_', type=float,
                        default=0.00177 * 99_388 / 20_000,
                        help='tail threshold; the default puts the same '
                        'image count (176) below it as 0.00177 on LVIS v1')
    parser.add_argument('--rois-per-image', type=int, default=1,
                        help='foreground training RoIs per training image')
    parser.add_argument('--dim', type=int, default=64)
    parser.add_argument('--separation', type=float, default=4.0,
                        help='norm of the category prototypes')
    parser.add_argument('--noise', type=float, default=1.0,
                        help='std of the RoI feature noise per dimension')
    parser.add_argument('--epochs', type=int, default=12,
                        help='passes over the training RoIs (LR steps at '
                        '2/3 and 8/9, as in the 1x schedule)')
    parser.add_argument('--batch-size', type=int, default=512)
    parser.add_argument('--lr', type=float, default=0.02)
    parser.add_argument('--topk', type=int, default=3)
    parser.add_argument('--negatives', type=int, default=8,
                        help='categories verified absent per test RoI '
                        '(LVIS federated evaluation judges a category only '
                        'where it is verified present or absent); 0 judges '
                        'every category everywhere')
    parser.add_argument('--methods', nargs='+', default=list(METHODS),
                        choices=list(METHODS))
    parser.add_argument('--out', help='folder for <method>/results.eval.json')
    return parser.parse_args()


def image_counts(rng: np.random.Generator, num_classes: int,
                 shares: Tuple[float, float, float]) -> np.ndarray:
    """Training image count of every category, log-uniform in its group."""
    sizes = np.floor(np.asarray(shares) / sum(shares) * num_classes)
    sizes[-1] = num_classes - sizes[:-1].sum()
    counts = []
    for (low, high), size in zip(GROUPS.values(), sizes.astype(int)):
        counts.append(
            np.exp(rng.uniform(np.log(low), np.log(high + 1), size)).astype(
                np.int64).clip(low, high))
    return np.concatenate(counts)


def sample_rois(rng: np.random.Generator, prototypes: np.ndarray,
                per_class: np.ndarray, noise: float,
                bg_per_fg: float) -> Tuple[np.ndarray, np.ndarray]:
    """Features (M, D) and labels (M,) of foreground and background RoIs.

    Half of the background RoIs are clutter (isotropic noise); the other half
    are poorly placed boxes on an object: a quarter to a half of a random
    object's prototype (drawn in proportion to ``per_class``) plus noise.
    """
    num_classes, dim = prototypes.shape
    labels = np.repeat(np.arange(num_classes), per_class)
    feats = prototypes[labels] + noise * rng.standard_normal(
        (labels.size, dim))
    num_bg = int(round(bg_per_fg * labels.size))
    near = rng.choice(num_classes, num_bg // 2, p=per_class / per_class.sum())
    bg = np.concatenate([
        prototypes[near] * rng.uniform(0.25, 0.5, (near.size, 1)),
        np.zeros((num_bg - near.size, dim))
    ]) + noise * rng.standard_normal((num_bg, dim))
    return (np.concatenate([feats, bg]).astype(np.float32),
            np.concatenate([labels, np.full(num_bg, num_classes)]))


class Classifier(nn.Module):
    """The box head's classification branch: two shared FC layers and C
    sigmoid logits whose bias starts at the prior -log((1 - p) / p)."""

    def __init__(self, dim: int, num_classes: int, hidden: int = 256,
                 prior_prob: float = 0.001) -> None:
        super().__init__()
        self.shared = nn.Sequential(
            nn.Linear(dim, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True))
        self.fc_cls = nn.Linear(hidden, num_classes)
        nn.init.normal_(self.fc_cls.weight, std=0.01)
        nn.init.constant_(self.fc_cls.bias,
                          -float(np.log((1 - prior_prob) / prior_prob)))

    def forward(self, x: Tensor) -> Tensor:
        return self.fc_cls(self.shared(x))


def train(feats: np.ndarray, labels: np.ndarray, loss_cls: nn.Module,
          args: argparse.Namespace, seed: int) -> Classifier:
    """Train a classifier with ``loss_cls`` by SGD (momentum 0.9, step
    decay at 2/3 and 8/9 of the schedule, as the 1x schedule does)."""
    torch.manual_seed(seed)
    model = Classifier(feats.shape[1], loss_cls.num_classes)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr,
                                momentum=0.9, weight_decay=1e-4)
    steps = args.epochs * -(-len(labels) // args.batch_size)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, [int(steps * 2 / 3), int(steps * 8 / 9)], 0.1)
    x, y = torch.from_numpy(feats), torch.from_numpy(labels)
    for _ in range(args.epochs):
        for idx in torch.randperm(len(y)).split(args.batch_size):
            loss = loss_cls(model(x[idx]), y[idx])['loss_cls']
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    return model


def average_precision(scores: np.ndarray, hits: np.ndarray,
                      num_gt: int) -> float:
    """AP of ranked detections (COCO-style 101-point interpolation)."""
    if num_gt == 0:
        return -1.0
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind='mergesort')
    tp = np.cumsum(hits[order])
    recall = tp / num_gt
    precision = tp / np.arange(1, len(tp) + 1)
    # the precision envelope: the best precision at any higher recall
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    idx = np.searchsorted(recall, points, side='left')
    return float(np.where(idx < len(precision),
                          precision[np.minimum(idx, len(precision) - 1)],
                          0).mean())


def judged_categories(rng: np.random.Generator, labels: np.ndarray,
                      num_classes: int, negatives: int) -> np.ndarray:
    """(M, C) bool: where a detection of a category is judged, as LVIS's
    federated evaluation does: the RoI's own category and ``negatives``
    random categories verified absent (all categories when 0)."""
    if negatives == 0:
        return np.ones((len(labels), num_classes), dtype=bool)
    judged = np.zeros((len(labels), num_classes + 1), dtype=bool)
    rows = np.arange(len(labels))[:, None]
    judged[rows, rng.integers(num_classes, size=(len(labels), negatives))] = 1
    judged[rows[:, 0], labels] = True
    return judged[:, :num_classes]


@torch.no_grad()
def evaluate(model: Classifier, feats: np.ndarray, labels: np.ndarray,
             judged: np.ndarray, topk: int) -> np.ndarray:
    """Per-category AP (C,) when every RoI keeps its top ``topk`` scores
    and a detection counts only where its category is ``judged``."""
    scores = model(torch.from_numpy(feats)).sigmoid()
    top_scores, top_labels = scores.topk(topk, dim=1)
    top_scores, top_labels = top_scores.numpy(), top_labels.numpy()
    hits = top_labels == labels[:, None]
    counted = np.take_along_axis(judged, top_labels, axis=1)
    num_classes = scores.shape[1]
    num_gt = np.bincount(labels, minlength=num_classes + 1)
    aps = np.empty(num_classes)
    for c in range(num_classes):
        mask = (top_labels == c) & counted
        aps[c] = average_precision(top_scores[mask], hits[mask], num_gt[c])
    return aps


def group_means(aps: np.ndarray, groups: np.ndarray) -> Dict[str, float]:
    """AP, APr, APc, APf of per-category APs."""
    out = {'AP': float(aps.mean())}
    for g in 'rcf':
        out[f'AP{g}'] = float(aps[groups == g].mean())
    return out


def run_seed(args: argparse.Namespace,
             seed: int) -> Tuple[Dict[str, np.ndarray], np.ndarray,
                                 np.ndarray]:
    """Data of one seed and the per-category AP of every method."""
    rng = np.random.default_rng(seed)
    counts = image_counts(rng, args.num_classes, args.shares)
    prototypes = rng.standard_normal((args.num_classes, args.dim))
    prototypes *= args.separation / np.linalg.norm(
        prototypes, axis=1, keepdims=True)
    # a test set of every category (at least 10 RoIs, else in proportion)
    # with the training set's background share
    train_x, train_y = sample_rois(rng, prototypes,
                                   args.rois_per_image * counts, args.noise,
                                   3)
    test_per_class = np.maximum(10, counts // 5)
    test_x, test_y = sample_rois(rng, prototypes, test_per_class, args.noise,
                                 3)
    judged = judged_categories(rng, test_y, args.num_classes, args.negatives)
    freq = (counts / args.num_images).tolist()
    aps = {}
    for method in args.methods:
        loss_cls = MODELS.build(
            dict(
                type='DropLoss',
                num_classes=args.num_classes,
                lambda_=args.lambda_,
                category_freq=freq,
                mode=METHODS[method],
                return_dict=True))
        model = train(train_x, train_y, loss_cls, args, seed)
        aps[method] = evaluate(model, test_x, test_y, judged, args.topk)
    return aps, counts, np.asarray(group_of(counts))


def group_of(counts: np.ndarray) -> List[str]:
    """The frequency group ('r', 'c', 'f') of every image count."""
    return [next(g for g, (_, high) in GROUPS.items() if n <= high)
            for n in counts]


def main() -> None:
    args = parse_args()
    register_all_modules()
    start = time.time()
    per_method: Dict[str, List[np.ndarray]] = {m: [] for m in args.methods}
    table: Dict[str, List[Dict[str, float]]] = {m: [] for m in args.methods}
    for seed in range(args.seeds):
        aps, counts, groups = run_seed(args, seed)
        for method, ap in aps.items():
            per_method[method].append(ap)
            table[method].append(group_means(ap, groups))
    tail = int((counts / args.num_images < args.lambda_).sum())
    print(f'{args.num_classes} categories (r/c/f: '
          f'{[int((groups == g).sum()) for g in "rcf"]}), '
          f'{tail} in the tail set (lambda {args.lambda_:.5f}), '
          f'{args.seeds} seeds; AP in %, mean +- std over seeds')
    keys = GROUP_KEYS
    print('| method | ' + ' | '.join(keys) + ' |')
    print('|---|' + '---|' * len(keys))
    for method, rows in table.items():
        cells = []
        for k in keys:
            values = 100 * np.array([r[k] for r in rows])
            cells.append(f'{values.mean():.1f} +- {values.std():.1f}')
        print(f'| {method} | ' + ' | '.join(cells) + ' |')
    # each seed draws its own category profile, which moves every method;
    # the paired differences show what the loss changes
    base = args.methods[0]
    for method in args.methods[1:]:
        cells = []
        for k in keys:
            diff = 100 * np.array([r[k] - b[k] for r, b in
                                   zip(table[method], table[base])])
            cells.append(f'{diff.mean():+.1f} +- {diff.std():.1f}')
        print(f'| {method} - {base} | ' + ' | '.join(cells) + ' |')
    print(f'({time.time() - start:.0f} s)')
    if args.out:
        # group means over seeds; per-category AP of the last seed (each
        # seed draws its own category profile)
        for method, rows in table.items():
            mean = {k: float(np.mean([r[k] for r in rows])) for k in keys}
            mean['per_category'] = [
                dict(id=c + 1, name=f'class_{c}', frequency=g,
                     image_count=int(n), ap=float(ap)) for c, (g, n, ap) in
                enumerate(zip(groups, counts, per_method[method][-1]))
            ]
            folder = osp.join(args.out, method)
            os.makedirs(folder, exist_ok=True)
            with open(osp.join(folder, 'results.eval.json'), 'w',
                      encoding='utf-8') as f:
                json.dump({'cls': mean}, f, indent=1)


if __name__ == '__main__':
    main()
