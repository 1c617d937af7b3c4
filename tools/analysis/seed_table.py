# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Print the multi-seed tables of ``tools/analysis/longtail_multiseed.sh``:
per method the mean and spread over seeds (AP, APr, APc, APf in %), and
the paired per-seed differences to the baseline."""
import argparse

from eval_results import (
    multi_seed_tables,
    seed_runs,
)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('work_dir',
                        help='folder with seed<S>/<method>/*.eval.json')
    parser.add_argument('--protocol', default='standard',
                        choices=['standard', 'fixed'],
                        help='which evaluation file of each run to read')
    parser.add_argument('--baseline', default='sigmoid',
                        help='method the differences are taken to')
    parser.add_argument('--out', help='also write the tables to this file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    tables = multi_seed_tables(
        seed_runs(args.work_dir, args.protocol), args.baseline)
    print(tables)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(tables + '\n')


if __name__ == '__main__':
    main()
