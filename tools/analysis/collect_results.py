# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Print one Markdown table (AP, APr, APc, APf, in %) of several
``*.eval.json`` files written by FastLVISMetric's ``outfile_prefix``."""
import argparse

from eval_results import named_results, summary_table


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('results', nargs='+', help='*.eval.json files')
    parser.add_argument('--names', nargs='*', default=[],
                        help='row names (default: each file\'s folder)')
    parser.add_argument('--out', help='also write the table to this file')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    table = summary_table(named_results(args.results, args.names))
    print(table)
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as f:
            f.write(table + '\n')


if __name__ == '__main__':
    main()
