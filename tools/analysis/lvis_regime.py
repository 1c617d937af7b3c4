# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""The classifier stage of the LVIS-regime experiment (docs/analysis.md,
"LVIS regime"; tools/analysis/lvis_regime.sh runs it all).

    # the box head's RoI features of PASSES samplings of the training set
    python tools/analysis/lvis_regime.py cache CONFIG STAGE1.pth CACHE.pt
    # retrain the classifier with the loss of CONFIG's bbox_head
    python tools/analysis/lvis_regime.py classifier CONFIG STAGE1.pth \\
        CACHE.pt OUT.pth --seed S
    # the protocol's regime checks of the finished runs
    python tools/analysis/lvis_regime.py checks WORK_DIR CACHE.pt TRAIN.json

``cache`` runs the stage-1 detector (frozen, BN in eval mode) over the training
set as its training would: the RPN's proposals (``rpn_proposal`` settings),
MMDetection's assigner and sampler, and keeps each sampled RoI's shared-FC
feature and label target, one record per batch. ``classifier`` re-initialises
``fc_cls`` (normal weights, the prior bias) and trains it alone on those
records, a batch's RoIs together as on one GPU, with the ``loss_cls`` module of
``CONFIG``'s ``bbox_head`` (the package's DropLoss in its 'bce', 'eql' or
'drop' mode, or a peer loss: Seesaw, EQLv2, federated, Gumbel) called as
MMDetection's ``BBoxHead`` calls it; it writes the stage-1 checkpoint with the
new classifier, and beside it ``OUT.stats.json``: the mean ``drop_keep_ratio``
and each category's summed positive and background gradient (as
``ClsGradientStatsHook``).
"""
import argparse
import glob
import json
import os.path as osp
import time
from typing import Dict, List

import numpy as np
import torch
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import load_checkpoint

from mmdet_droploss.datasets import (
    frequencies_from_annotations,
    load_annotation_file,
)
from mmdet_droploss.engine.cls_gradient_stats_hook import (
    accumulate_cls_gradient,
)

FC_CLS = 'roi_head.bbox_head.fc_cls.'


def build(config: str) -> Config:
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    return cfg


@torch.no_grad()
def cache(config: str, checkpoint: str, out: str, passes: int,
          seed: int) -> None:
    """Write the sampled RoIs' features and labels of ``passes`` passes."""
    cfg = build(config)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.eval()
    head, roi_head = model.roi_head.bbox_head, model.roi_head
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
    batches: List[Dict[str, torch.Tensor]] = []
    start = time.perf_counter()
    for p in range(passes):
        torch.manual_seed(seed * 1000 + p)  # the sampler's draws, the flips
        for data in loader:
            data = model.data_preprocessor(data, True)
            samples = data['data_samples']
            x = model.extract_feat(data['inputs'])
            metas = [s.metainfo for s in samples]
            proposals = model.rpn_head.predict_by_feat(
                *model.rpn_head(x), batch_img_metas=metas,
                cfg=model.train_cfg.rpn_proposal, rescale=False)
            gts, ignores, _ = unpack_gt_instances(samples)
            results = []
            for i, proposal in enumerate(proposals):
                proposal.priors = proposal.pop('bboxes')
                assigned = roi_head.bbox_assigner.assign(
                    proposal, gts[i], ignores[i])
                results.append(roi_head.bbox_sampler.sample(
                    assigned, proposal, gts[i],
                    feats=[level[i][None] for level in x]))
            rois = torch.cat([
                torch.cat([r.priors.new_full((len(r.priors), 1), i),
                           r.priors], 1) for i, r in enumerate(results)
            ])
            feats = roi_head.bbox_roi_extractor(
                x[:roi_head.bbox_roi_extractor.num_inputs], rois).flatten(1)
            for fc in head.shared_fcs:
                feats = head.relu(fc(feats))
            labels, label_weights = head.get_targets(
                results, model.train_cfg.rcnn)[:2]
            batches.append(dict(feats=feats.half(), labels=labels.short(),
                                label_weights=label_weights.half()))
        print(f'pass {p + 1}/{passes}: {len(batches)} batches, '
              f'{time.perf_counter() - start:.0f} s', flush=True)
    torch.save(batches, out)


def classifier(config: str, checkpoint: str, cache_file: str, out: str,
               seed: int, epochs: int, lr: float) -> None:
    """Retrain ``fc_cls`` on the cached RoIs with CONFIG's loss."""
    cfg = build(config)
    head = MODELS.build(cfg.model.roi_head.bbox_head)
    train = cfg.train_dataloader.dataset
    ann_file = osp.join(train.data_root, train.ann_file)
    ann = load_annotation_file(ann_file)
    # label order: the file's categories, as the LVIS datasets number them
    cat_ids = [c['id'] for c in ann['categories']]
    if getattr(head.loss_cls, 'uses_category_freq', False):
        head.loss_cls.set_category_freq(
            frequencies_from_annotations(ann, cat_ids).tolist())
    batches = torch.load(cache_file)
    torch.manual_seed(seed)  # the initial weights, the order, the drops
    head.init_weights()
    fc = head.fc_cls
    optimizer = torch.optim.SGD(fc.parameters(), lr=lr, momentum=0.9,
                                weight_decay=1e-4)
    total = epochs * len(batches)
    # the authors' steps at 60k and 80k of 90k iterations
    scheduler = torch.optim.lr_scheduler.MultiStepLR(
        optimizer, [total * 2 // 3, total * 8 // 9], gamma=0.1)
    num_classes = fc.out_features
    stats = torch.zeros(3, num_classes, dtype=torch.float64)
    keep_ratios = []
    start = time.perf_counter()
    for _ in range(epochs):
        for b in torch.randperm(len(batches)).tolist():
            batch = batches[b]
            score = fc(batch['feats'].float())
            score.retain_grad()
            weights = batch['label_weights'].float()
            loss = head.loss_cls(
                score, batch['labels'].long(), weights,
                avg_factor=max(float((weights > 0).sum()), 1.))
            if isinstance(loss, dict):  # DropLoss's, Seesaw's
                if 'drop_keep_ratio' in loss:
                    keep_ratios.append(float(loss['drop_keep_ratio']))
                loss = sum(v for k, v in loss.items() if 'loss' in k)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            if num_classes == head.num_classes:  # C outputs, no extra
                accumulate_cls_gradient(stats, score.grad,
                                        batch['labels'].long())
    seconds = time.perf_counter() - start
    state = torch.load(checkpoint, map_location='cpu')
    state['state_dict'].update({FC_CLS + k: v.detach().clone()
                                for k, v in fc.state_dict().items()})
    for key, value in head.loss_cls.state_dict().items():
        state['state_dict']['roi_head.bbox_head.loss_cls.' + key] = value
    torch.save(state, out)
    with open(osp.splitext(out)[0] + '.stats.json', 'w') as f:
        json.dump(dict(
            loss=type(head.loss_cls).__name__,
            mode=getattr(head.loss_cls, 'mode', None), seed=seed,
            epochs=epochs, iterations=total, lr=lr, seconds=round(seconds, 1),
            mean_keep_ratio=float(np.mean(keep_ratios)) if keep_ratios
            else None,
            cat_ids=cat_ids, pos=stats[0].tolist(),
            neg_fg=stats[1].tolist(), neg_bg=stats[2].tolist()), f)
    print(f'{total} iterations in {seconds:.0f} s: {out}')


def checks(work_dir: str, cache_file: str, ann_file: str) -> None:
    """Print the protocol's regime checks of the finished runs."""
    with open(ann_file) as f:
        cats = json.load(f)['categories']
    freq = np.array([c['frequency'] for c in cats])
    tail = np.array([c['frequency'] in 'rc' for c in cats])
    labels = torch.cat([b['labels'] for b in torch.load(cache_file)]).long()
    fg = labels[labels < len(cats)]
    share = float(torch.from_numpy(tail)[fg].float().mean())
    print(f'tail share of the sampled foreground RoIs: {share:.4f}')
    print('| seed | DropLoss mean r | r / tail share | sigmoid rare '
          'bg / pos gradient | sigmoid bbox APr / APf |')
    print('|---|---|---|---|---|')
    rows = []
    for seed_dir in sorted(glob.glob(osp.join(work_dir, 'seed*'))):
        with open(osp.join(seed_dir, 'droploss', 'classifier.stats.json')) \
                as f:
            r = json.load(f)['mean_keep_ratio']
        with open(osp.join(seed_dir, 'sigmoid', 'classifier.stats.json')) \
                as f:
            stats = json.load(f)
        rare = freq == 'r'
        ratio = (np.array(stats['neg_bg'])[rare].sum() /
                 np.array(stats['pos'])[rare].sum())
        with open(osp.join(seed_dir, 'sigmoid', 'standard.eval.json')) as f:
            bbox = json.load(f)['bbox']
        print(f'| {osp.basename(seed_dir)[4:]} | {r:.4f} | {r / share:.2f} '
              f'| {ratio:.1f} | {100 * bbox["APr"]:.1f} / '
              f'{100 * bbox["APf"]:.1f} |')
        rows.append((osp.basename(seed_dir)[4:], stats))
    # where the sigmoid arm's discouraging gradient comes from, per group
    print('\n| seed | sigmoid, r / c / f: foreground-negative / positive '
          'gradient | background / positive gradient |\n|---|---|---|')
    for seed, stats in rows:
        pos, fg, bg = (np.array(stats[k]) for k in ('pos', 'neg_fg', 'neg_bg'))
        ratios = [' / '.join(f'{a[freq == g].sum() / pos[freq == g].sum():.2f}'
                             for g in 'rcf') for a in (fg, bg)]
        print(f'| {seed} | {ratios[0]} | {ratios[1]} |')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    p = sub.add_parser('cache', help='cache the sampled RoIs\' features')
    p.add_argument('config')
    p.add_argument('checkpoint', help='the stage-1 checkpoint')
    p.add_argument('out', help='the cache file (.pt)')
    p.add_argument('--passes', type=int, default=2,
                   help='samplings of the training set')
    p.add_argument('--seed', type=int, default=0)
    p = sub.add_parser('classifier', help='retrain fc_cls on the cache')
    p.add_argument('config', help="its bbox_head's loss_cls is the loss")
    p.add_argument('checkpoint', help='the stage-1 checkpoint')
    p.add_argument('cache', help='the file of the cache command')
    p.add_argument('out', help='the checkpoint to write')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--epochs', type=int, default=20,
                   help='passes over the cached batches')
    p.add_argument('--lr', type=float, default=0.02)
    p = sub.add_parser('checks', help='print the regime checks')
    p.add_argument('work_dir', help='the folder of lvis_regime.sh')
    p.add_argument('cache', help='the file of the cache command')
    p.add_argument('ann_file', help='the training annotations')
    args = parser.parse_args()
    if args.command == 'checks':
        checks(args.work_dir, args.cache, args.ann_file)
    elif args.command == 'cache':
        cache(args.config, args.checkpoint, args.out, args.passes, args.seed)
    else:
        classifier(args.config, args.checkpoint, args.cache, args.out,
                   args.seed, args.epochs, args.lr)


if __name__ == '__main__':
    main()
