# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Write a small synthetic LVIS v1-format dataset (images + annotations)."""
import argparse

from mmdet_droploss.datasets.synthetic_lvis import make_synthetic_lvis


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', default='data/synthetic_lvis',
                        help='output folder (data_root of the demo config)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train', type=int, default=40)
    parser.add_argument('--num-val', type=int, default=16)
    parser.add_argument('--image-size', type=int, default=160)
    parser.add_argument('--num-active', type=int, default=60,
                        help='categories that occur at all')
    parser.add_argument('--max-objects', type=int, default=5)
    parser.add_argument('--zipf-exponent', type=float, default=1.1)
    parser.add_argument('--rare-max', type=int, default=0,
                        help="most training images of an 'r' category "
                        '(0: 5%% of --num-train)')
    parser.add_argument('--common-max', type=int, default=0,
                        help="most training images of a 'c' category "
                        '(0: 20%% of --num-train)')
    parser.add_argument('--only-active', action='store_true',
                        help='list only the occurring categories, which '
                        'makes a --num-active-class dataset')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    paths = make_synthetic_lvis(
        args.out,
        seed=args.seed,
        num_train=args.num_train,
        num_val=args.num_val,
        image_size=args.image_size,
        num_active=args.num_active,
        max_objects=args.max_objects,
        zipf_exponent=args.zipf_exponent,
        rare_max=args.rare_max,
        common_max=args.common_max,
        only_active=args.only_active)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
