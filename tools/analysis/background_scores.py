# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""How a trained model scores each frequency group's categories on
background and on foreground RoIs.

Every test image's own proposals (the RPN with the config's test settings)
are classified by the box head. A proposal is background where its IoU with
every object is below ``--iou-thr`` (0.5, the box head's training
threshold), and foreground for the category of the object it overlaps most
otherwise. Per group (r, c, f, from the annotation file's ``frequency``):

- bg score: mean sigmoid score of the group's categories on background
  proposals (averaged over categories);
- bg > thr: share of background proposals on which some category of the
  group scores above ``--score-thr``, i.e. would be kept as a detection;
- fg score: mean score of the true category on its foreground proposals;
- fg top-1: share of those where the true category scores highest;
- takes others: share of the foreground proposals of other groups'
  categories on which some category of this group scores above the true
  one (a look-alike outscoring the object's own category).

A classifier that suppresses tail categories gives them low scores
everywhere; one that stops suppressing them raises both their fg and bg
scores. ``--out`` writes the numbers as JSON.
"""
import argparse
import json
from typing import Dict

import numpy as np
import torch
from eval_results import method_name
from mmdet.apis import init_detector
from mmdet.registry import DATASETS
from mmdet.structures.bbox import bbox2roi, bbox_overlaps
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate

from mmdet_droploss.datasets.category_frequency import read_json
from mmdet_droploss.utils import load_config

GROUPS = ('r', 'c', 'f')



def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('config', help='test config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--num-images', type=int, default=None,
                        help='first N test images (default: all)')
    parser.add_argument('--iou-thr', type=float, default=0.5)
    parser.add_argument('--score-thr', type=float, default=0.05)
    parser.add_argument('--name', default=None,
                        help='row name (default: the checkpoint folder)')
    parser.add_argument('--out', help='also write the numbers as JSON')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, as tools/test.py')
    return parser.parse_args()


@torch.no_grad()
def score_sums(model: torch.nn.Module, dataset, num_images: int,
               iou_thr: float, score_thr: float,
               group_of: np.ndarray) -> Dict[str, np.ndarray]:
    """Per-category sums over the images' proposals.

    Returns:
        Dict[str, np.ndarray]: ``bg_sum`` (C, ) summed background scores,
        ``bg_count`` (1, ) background proposals, ``bg_over`` (G, )
        background proposals with some category of group g above
        ``score_thr``, ``fg_sum``, ``fg_count`` and ``fg_top1`` (C, ) over
        each category's foreground proposals, ``fg_other`` and
        ``fg_taken`` (G, ): foreground proposals of other groups'
        categories, and those on which a category of group g outscores
        the true one.
    """
    num_classes = len(group_of)
    sums = dict(bg_sum=np.zeros(num_classes), bg_count=np.zeros(1),
                bg_over=np.zeros(len(GROUPS)), fg_sum=np.zeros(num_classes),
                fg_count=np.zeros(num_classes),
                fg_top1=np.zeros(num_classes),
                fg_taken=np.zeros(len(GROUPS)),
                fg_other=np.zeros(len(GROUPS)))
    in_group = torch.from_numpy(
        np.stack([group_of == g for g in range(len(GROUPS))]))
    for idx in range(num_images):
        data = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
        feats = model.extract_feat(data['inputs'])
        sample = data['data_samples'][0]
        proposals = model.rpn_head.predict(
            feats, data['data_samples'], rescale=False)[0].bboxes
        scores = model.roi_head._bbox_forward(
            feats, bbox2roi([proposals]))['cls_score'].sigmoid()
        # the objects as loaded are in the original image's pixels
        scale = proposals.new_tensor(sample.metainfo['scale_factor']).repeat(2)
        gt = sample.gt_instances
        if len(gt):
            iou = bbox_overlaps(proposals, gt.bboxes.to(proposals) * scale)
            best_iou, best = iou.max(1)
        else:
            best_iou = proposals.new_zeros(len(proposals))
            best = best_iou.long()
        bg = best_iou < iou_thr
        sums['bg_sum'] += scores[bg].sum(0).numpy()
        sums['bg_count'] += int(bg.sum())
        over = scores[bg] > score_thr
        sums['bg_over'] += (over[:, None, :] & in_group[None]).any(-1).sum(
            0).numpy()
        labels = gt.labels[best[~bg]]
        fg_scores = scores[~bg]
        own = fg_scores.gather(1, labels[:, None])[:, 0]
        np.add.at(sums['fg_sum'], labels.numpy(), own.numpy())
        np.add.at(sums['fg_count'], labels.numpy(), 1)
        np.add.at(sums['fg_top1'], labels.numpy(),
                  (fg_scores.argmax(1) == labels).numpy())
        others = fg_scores.scatter(1, labels[:, None], -1.0)
        label_group = torch.from_numpy(group_of)[labels]
        for g in range(len(GROUPS)):
            if not in_group[g].any():
                continue
            rival = others[:, in_group[g]].max(1).values
            other = label_group != g
            sums['fg_taken'][g] += int((other & (rival > own)).sum())
            sums['fg_other'][g] += int(other.sum())
    return sums


def group_table(sums: Dict[str, np.ndarray],
                group_of: np.ndarray) -> Dict[str, Dict[str, float]]:
    """Per group: bg score, bg > thr, fg score, fg top-1, takes others
    (see the module docstring); NaN where a group has no foreground
    proposal."""
    bg_count = max(sums['bg_count'][0], 1)
    table = {}
    for g, name in enumerate(GROUPS):
        cats = group_of == g
        has_fg = cats & (sums['fg_count'] > 0)
        fg_count = np.maximum(sums['fg_count'][has_fg], 1)
        table[name] = {
            'bg score': float((sums['bg_sum'][cats] / bg_count).mean()),
            'bg > thr': float(sums['bg_over'][g] / bg_count),
            'fg score': float((sums['fg_sum'][has_fg] / fg_count).mean())
            if has_fg.any() else float('nan'),
            'fg top-1': float((sums['fg_top1'][has_fg] / fg_count).mean())
            if has_fg.any() else float('nan'),
            'takes others': float(sums['fg_taken'][g] /
                                  max(sums['fg_other'][g], 1)),
        }
    return table


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, cfg_options=args.cfg_options)
    model = init_detector(cfg, args.checkpoint, device='cpu')
    model.eval()
    dataset_cfg = cfg.test_dataloader.dataset
    dataset = DATASETS.build(dataset_cfg)
    if not any(t['type'] == 'LoadAnnotations'
               for t in dataset_cfg.pipeline):
        raise ValueError('the test pipeline loads no annotations; add '
                         "dict(type='LoadAnnotations', with_bbox=True).")
    ann = read_json(dataset.ann_file, 'Annotation file',
                    'check test_dataloader.dataset.ann_file')
    freq = {c['id']: c.get('frequency') for c in ann['categories']}
    unknown = sorted({freq.get(i) for i in dataset.cat_ids} - set(GROUPS),
                     key=str)
    if unknown:
        raise ValueError(f'categories without an LVIS frequency group '
                         f"({unknown}) in {dataset.ann_file}; every "
                         "category needs 'frequency': 'r', 'c' or 'f'.")
    group_of = np.array([GROUPS.index(freq[i]) for i in dataset.cat_ids])
    num_classes = model.roi_head.bbox_head.num_classes
    if num_classes != len(group_of):
        raise ValueError(f'the model has {num_classes} classes but '
                         f'{dataset.ann_file} has {len(group_of)} '
                         'categories; pass the config the checkpoint was '
                         'trained with and its test data.')
    num_images = min(args.num_images or len(dataset), len(dataset))
    sums = score_sums(model, dataset, num_images, args.iou_thr,
                      args.score_thr, group_of)
    table = group_table(sums, group_of)
    name = args.name or method_name(args.checkpoint)
    columns = list(table['r'])
    print(f'{name}: {num_images} images, {int(sums["bg_count"][0])} '
          f'background and {int(sums["fg_count"].sum())} foreground '
          'proposals')
    print('| group | ' + ' | '.join(columns) + ' |')
    print('|---|' + '---|' * len(columns))
    for group, row in table.items():
        print(f'| {group} | ' + ' | '.join(f'{row[c]:.4f}' for c in columns)
              + ' |')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            json.dump(dict(name=name, num_images=num_images, groups=table,
                           iou_thr=args.iou_thr, score_thr=args.score_thr),
                      f, indent=1)


if __name__ == '__main__':
    main()
