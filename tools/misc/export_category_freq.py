# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Write the DropLoss category frequencies of an annotation file to JSON.

The output is read by ``DropLoss(category_freq='path.json')``. It lists
every category of the file with its id, name, image count and frequency;
``CategoryFrequencyHook`` maps it into the training dataset's label order
by id, so a dataset with a ``classes`` subset or a file whose categories are
not listed by ascending id gets each category's own frequency.
"""
import argparse
import json

import numpy as np

from mmdet_droploss.datasets.category_frequency import (
    count_category_images,
    load_annotation_file,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('ann_file', help='COCO- or LVIS-format training '
                        'annotation file')
    parser.add_argument('--out', required=True, help='output JSON path')
    parser.add_argument(
        '--classes',
        nargs='+',
        help='category names the training dataset keeps (its metainfo '
        'classes): frequencies then count the images annotated with these '
        'only, as the dataset does')
    parser.add_argument(
        '--lambda',
        dest='lambdas',
        type=float,
        nargs='*',
        default=[0.00177, 0.0010062],
        help='print how many categories each threshold puts in the tail')
    parser.add_argument(
        '--tail-images',
        type=int,
        nargs='*',
        default=[],
        help='print the lambda that makes categories in fewer than K '
        'training images the tail set, for each K')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    ann = load_annotation_file(args.ann_file, lean=True)
    cats = sorted(ann['categories'], key=lambda c: c['id'])
    if args.classes:
        names = {c.get('name') for c in cats}
        unknown = [n for n in args.classes if n not in names]
        if unknown:
            raise SystemExit(f'--classes names {unknown}, which '
                             f'{args.ann_file} does not have.')
        cats = [c for c in cats if c.get('name') in set(args.classes)]
    counts, num_images = count_category_images(ann, [c['id'] for c in cats])
    if num_images == 0:
        raise SystemExit(f'{args.ann_file} has no annotation.')
    freq = counts / num_images
    table = dict(
        ann_file=args.ann_file,
        num_images=num_images,
        # keyed by id: no list whose order a reader could take for labels
        categories=[
            dict(id=c['id'], name=c.get('name', str(c['id'])),
                 image_count=int(counts[i]), frequency=float(freq[i]))
            for i, c in enumerate(cats)
        ])
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(table, f)
    print(f'{len(cats)} categories, {num_images} annotated images -> '
          f'{args.out}')
    for lam in args.lambdas:
        print(f'lambda {lam}: {int(np.sum(freq < lam))} of {len(cats)} '
              'categories in the tail set')
    for k in args.tail_images:
        lam = k / num_images
        print(f'fewer than {k} images: lambda {lam:.6g} puts '
              f'{int(np.sum(freq < lam))} of {len(cats)} categories in the '
              'tail set')


if __name__ == '__main__':
    main()
