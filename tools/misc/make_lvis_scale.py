# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Write LVIS v1-shaped annotation files at full size (or a fraction).

From the LVIS v1 training-set category statistics (a JSON file with each
category's ``image_count`` and ``instance_count``; not in this repository)
it writes ``DIR/annotations/lvis_v1_{train,val}.json`` with LVIS v1's
counts times ``--scale`` (``mmdet_droploss.testing.lvis_scale``), no
images. With ``val`` among the splits and ``--dets-per-image`` > 0 it also
makes that many detections per validation image in memory (the records
``FastLVISMetric.process`` keeps), and with ``--save-dets`` pickles them.
"""
import argparse
import os
import os.path as osp
import pickle
import time

from mmdet_droploss.testing.lvis_scale import (
    check_scale,
    load_category_stats,
    lvis_scale_detections,
    make_lvis_scale,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('stats_file', help='LVIS v1 training-set category '
                        'statistics JSON (lvis_v1_train_category_stats.json)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--scale', type=float, default=1.0,
                        help="fraction of LVIS v1's size, in (0, 1]")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--dets-per-image', type=int, default=300,
                        help='detections per validation image (0: none)')
    parser.add_argument('--splits', nargs='+', default=['train', 'val'],
                        choices=['train', 'val'])
    parser.add_argument('--save-dets', action='store_true',
                        help='pickle the detections (a list of records) to '
                        'DIR/lvis_v1_val_dets.pkl')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    try:
        check_scale(args.scale)
        cats = load_category_stats(args.stats_file)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f'error: {e}')
    if args.dets_per_image < 0:
        raise SystemExit('error: --dets-per-image must be >= 0 (0 makes no '
                         f'detections), got {args.dets_per_image}.')
    written = {}
    for split in ('train', 'val'):
        if split not in args.splits:
            continue
        start = time.perf_counter()
        info = make_lvis_scale(cats, args.out, scale=args.scale,
                               seed=args.seed, splits=[split])[split]
        written[split] = info
        print(f'{split}: {info["path"]}: {info["images"]} images, '
              f'{info["annotations"]} annotations, '
              f'{os.path.getsize(info["path"]) / 1e6:.1f} MB, '
              f'{time.perf_counter() - start:.1f} s')
    if 'val' in written and args.dets_per_image > 0:
        start = time.perf_counter()
        dets = lvis_scale_detections(written['val']['path'],
                                     args.dets_per_image, seed=args.seed)
        num = sum(len(r['scores']) for r in dets)
        print(f'detections: {num} on {len(dets)} validation images, '
              f'{time.perf_counter() - start:.1f} s')
        if args.save_dets:
            path = osp.join(args.out, 'lvis_v1_val_dets.pkl')
            with open(path, 'wb') as f:
                pickle.dump(dets, f, protocol=pickle.HIGHEST_PROTOCOL)
            print(f'detections: {path}, {os.path.getsize(path) / 1e6:.1f} MB')


if __name__ == '__main__':
    main()
