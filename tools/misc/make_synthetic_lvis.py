# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Write a synthetic LVIS v1-format dataset (images + annotations).

Without ``--preset``: the small dataset of the demo and the tests, shaped by
the options. ``--preset lvis-like``: 200 categories with LVIS's frequency
groups, judging and look-alike categories; ``--preset lvis-regime``: LVIS
v1's imbalance (10,000 images, 25% rare categories, a tail of 6% of the
instances), looks at random (``mmdet_droploss.testing.lvis_like``). With a
preset only ``--out``, ``--seed`` and ``--looks`` apply.
"""
import argparse

from mmdet_droploss.testing.lvis_like import make_lvis_like, make_lvis_regime
from mmdet_droploss.testing.synthetic_lvis import make_synthetic_lvis

# a preset is a function of (out, seed) with the shape in its defaults
PRESETS = {'lvis-like': make_lvis_like, 'lvis-regime': make_lvis_regime}
# options of make_synthetic_lvis; left out, its defaults apply
SHAPE_OPTIONS = ('num_train', 'num_val', 'image_size', 'num_active',
                 'max_objects', 'zipf_exponent', 'rare_max', 'common_max',
                 'only_active')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--out', default='data/synthetic_lvis',
                        help='output folder (data_root of the demo config)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='a fixed shape; the options below do not apply')
    parser.add_argument('--looks', choices=['random', 'lookalike'],
                        help="a preset's looks: each rare category one "
                        'attribute from a frequent one (lookalike; the '
                        "lvis-like preset's default) or at random (the "
                        "lvis-regime preset's)")
    parser.add_argument('--num-train', type=int)
    parser.add_argument('--num-val', type=int)
    parser.add_argument('--image-size', type=int)
    parser.add_argument('--num-active', type=int,
                        help='categories that occur at all')
    parser.add_argument('--max-objects', type=int)
    parser.add_argument('--zipf-exponent', type=float)
    parser.add_argument('--rare-max', type=int,
                        help="most training images of an 'r' category "
                        '(0: 5%% of --num-train)')
    parser.add_argument('--common-max', type=int,
                        help="most training images of a 'c' category "
                        '(0: 20%% of --num-train)')
    parser.add_argument('--only-active', action='store_true', default=None,
                        help='list only the occurring categories, which '
                        'makes a --num-active-class dataset')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    given = {k: v for k, v in vars(args).items()
             if k in SHAPE_OPTIONS and v is not None}
    if args.preset:
        if given:
            raise SystemExit(
                f'--preset {args.preset} fixes the data\'s shape; drop '
                + ', '.join('--' + k.replace('_', '-') for k in given)
                + ' or drop --preset.')
        looks = {} if args.looks is None else dict(
            lookalike=args.looks == 'lookalike')
        paths = PRESETS[args.preset](args.out, seed=args.seed, **looks)
    else:
        if args.looks is not None:
            raise SystemExit('--looks applies to a --preset only.')
        paths = make_synthetic_lvis(args.out, seed=args.seed, **given)
    for split, path in paths.items():
        print(f'{split}: {path}')


if __name__ == '__main__':
    main()
