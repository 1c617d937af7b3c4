# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Detect objects in images and paint them, with MMDetection's
``DetInferencer`` (the arguments of MMDetection's ``demo/image_demo.py``,
which its wheel does not ship).

    python tools/image_demo.py IMAGE_OR_FOLDER CONFIG --weights CHECKPOINT \\
        [--out-dir outputs] [--device cpu] [--pred-score-thr 0.3]

Painted images go to ``OUT_DIR/vis/``, the predictions as JSON to
``OUT_DIR/preds/``.
"""
import argparse

from mmdet.apis import DetInferencer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('inputs', help='an image file or a folder of them')
    parser.add_argument('model', help='config file')
    parser.add_argument('--weights', required=True, help='checkpoint file')
    parser.add_argument('--out-dir', default='outputs', help='output folder')
    parser.add_argument('--device', default='cuda:0', help='e.g. cpu')
    parser.add_argument('--pred-score-thr', type=float, default=0.3,
                        help='paint detections scoring at least this')
    parser.add_argument('--batch-size', type=int, default=1)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    inferencer = DetInferencer(model=args.model, weights=args.weights,
                               device=args.device)
    inferencer(args.inputs, out_dir=args.out_dir, no_save_pred=False,
               pred_score_thr=args.pred_score_thr,
               batch_size=args.batch_size)
    print(f'painted images: {args.out_dir}/vis, predictions: '
          f'{args.out_dir}/preds')


if __name__ == '__main__':
    main()
