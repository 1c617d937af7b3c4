# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""LVIS v1 at its real size on one machine: loading, frequencies, sampling
and evaluation, each against its reference, with time and peak memory.

The data are LVIS v1-shaped files written by ``make_lvis_scale`` from the
real training-set category statistics (``tools/misc/make_lvis_scale.py``):
100,170 training images with about 1.27 million polygon annotations, and
19,809 validation images with 300 detections each (boxes and RLE masks, most
on categories the image does not judge). Every measurement runs in a fresh
child process, so its peak resident memory (``ru_maxrss``) is its own:

- ``json``: ``json.load`` of the training file, the floor of any loader;
- ``dataset``: MMDetection's ``LVISV1Dataset`` as the configs build it;
  ``ranks``: the same in N processes at once (N ranks of one machine);
- ``freq``: the frequencies ``CategoryFrequencyHook`` computes, on top of
  the loaded dataset; ``rfs``: ``ClassBalancedDataset``'s repeat factors
  (thresholds 1e-3 and 5e-4) on top of it;
- ``hold``: what rank 0 holds after gathering all detections, in
  ``FastLVISMetric.process``'s records against the same detections as an RLE
  dict each (the records before PackedMasks), and their pickles;
- ``process``: ``FastLVISMetric.process`` on a sample of images with dense
  masks, per image;
- ``metric``: ``compute_metrics`` on all gathered records, bbox + segm, with
  ``nproc`` workers, standard and Fixed AP;
- ``lvis-api``: lvis-api 0.5.3 on the same detections of a fraction of the
  validation images (``--api-scales``), ours beside it on the same fraction,
  and lvis-api extrapolated to the full set by the measured scaling.

lvis-api 0.5.3 uses ``np.float``, removed in numpy 1.24: the child that
runs it lends the alias for its run (the product never does).

    python tools/benchmarks/bench_lvis_scale.py STATS_FILE --data DIR
"""
import argparse
import json
import os
import os.path as osp
import pickle
import resource
import subprocess
import sys
import time
from typing import Dict, List, Optional

import numpy as np

HERE = osp.abspath(__file__)
# the 18 numbers of bbox + segm
COMPARED = [f'{t}_{k}' for t in ('bbox', 'segm')
            for k in ('AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'APr',
                      'APc', 'APf')]


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_mib() -> float:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2**20


def ann_files(data: str) -> Dict[str, str]:
    return {s: osp.join(data, 'annotations', f'lvis_v1_{s}.json')
            for s in ('train', 'val')}


def build_dataset(data: str):
    """The training set as configs/_base_ (MMDetection's LVIS v1) builds
    it, without a pipeline: loading and filtering are what is measured."""
    from mmdet.datasets import LVISV1Dataset
    return LVISV1Dataset(
        data_root=data, ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''), pipeline=[],
        filter_cfg=dict(filter_empty_gt=True, min_size=32))


def detections(val: str, seed: int = 0):
    from mmdet_droploss.datasets.lvis_scale import iter_lvis_scale_detections
    return iter_lvis_scale_detections(val, seed=seed)


def records_file(val: str) -> str:
    return osp.splitext(val)[0] + '.detections.pkl'


def write_records(val: str) -> None:
    """The detections of every validation image, as the gathered records
    of ``FastLVISMetric.process`` (masks packed), pickled once for the
    children to load."""
    from mmdet_droploss.evaluation.functional import PackedMasks
    out = []
    for r in detections(val):
        r['masks'] = PackedMasks.from_rles(r['masks'])
        out.append(r)
    with open(records_file(val), 'wb') as f:
        pickle.dump(out, f, protocol=pickle.HIGHEST_PROTOCOL)


def held_records(val: str, packed: bool = True,
                 judged: bool = False) -> List[dict]:
    """The gathered records of every validation image; with ``judged``,
    only the detections LVIS judges (what ``process`` keeps under the
    standard protocol); with ``packed`` False, masks as a list of RLE dicts
    each (counts bytes), as ``process`` kept them before PackedMasks."""
    with open(records_file(val), 'rb') as f:
        records = pickle.load(f)
    if judged:
        from mmdet_droploss.evaluation.metrics import FastLVISMetric
        from mmdet_droploss.evaluation.metrics.fast_lvis_metric import (
            take_detections,
        )
        labels = FastLVISMetric(ann_file=val).judged_labels
        records = [
            take_detections(r, np.flatnonzero(np.isin(
                r['labels'], labels[r['img_id']]))) for r in records
        ]
    if not packed:
        for r in records:
            pack = r['masks']
            size = list(pack.size)
            ends = pack.offsets.tolist()
            r['masks'] = [dict(size=list(size), counts=pack.counts[a:b])
                          for a, b in zip(ends[:-1], ends[1:])]
    return records


# ----------------------------------------------------------------- children
def child_imports(args) -> dict:
    import mmdet.datasets  # noqa: F401

    import mmdet_droploss  # noqa: F401
    return {}


def child_json(args) -> dict:
    start = time.perf_counter()
    with open(ann_files(args.data)['train'], encoding='utf-8') as f:
        ann = json.load(f)
    return dict(seconds=time.perf_counter() - start,
                annotations=len(ann['annotations']))


def child_dataset(args) -> dict:
    start = time.perf_counter()
    dataset = build_dataset(args.data)
    dataset.full_init()
    return dict(seconds=time.perf_counter() - start, images=len(dataset),
                after_mib=current_mib())


def child_freq(args) -> dict:
    from mmdet_droploss.datasets import frequencies_from_dataset
    dataset = build_dataset(args.data)
    dataset.full_init()
    before = peak_mib()
    start = time.perf_counter()
    freq, info = frequencies_from_dataset(dataset)
    return dict(seconds=time.perf_counter() - start, base_peak_mib=before,
                tail=int((freq < 0.00177).sum()))


def child_rfs(args) -> dict:
    from mmengine.dataset import ClassBalancedDataset
    dataset = build_dataset(args.data)
    dataset.full_init()
    before = peak_mib()
    start = time.perf_counter()
    balanced = ClassBalancedDataset(dataset, oversample_thr=args.thr)
    return dict(seconds=time.perf_counter() - start, base_peak_mib=before,
                length=len(balanced))


def child_hold(args) -> dict:
    val = ann_files(args.data)['val']
    before = current_mib()
    records = held_records(val, packed=args.packed, judged=args.judged)
    held = current_mib() - before
    start = time.perf_counter()
    blob = pickle.dumps(records, protocol=pickle.HIGHEST_PROTOCOL)
    dumped = time.perf_counter() - start
    size = len(blob)
    del records
    start = time.perf_counter()
    pickle.loads(blob)
    return dict(held_mib=held, pickle_mib=size / 2**20, dump_s=dumped,
                load_s=time.perf_counter() - start,
                dets=sum(len(r['scores']) for r in pickle.loads(blob)))


def child_process(args) -> dict:
    """process() per image on dense masks (as the detector's masks reach
    it), over the first ``--process-images`` validation images."""
    import torch
    from faster_coco_eval.core import mask as mask_api

    from mmdet_droploss.evaluation.metrics import FastLVISMetric
    # a result file keeps every detection: what process() did before it
    # kept only the judged ones
    metric = FastLVISMetric(
        ann_file=ann_files(args.data)['val'], progress=False,
        outfile_prefix=None if args.judged else '/tmp/unused')
    seconds, images = 0.0, 0
    # one image's dense masks at a time (300 x 640 x 480 bytes each)
    for r in detections(ann_files(args.data)['val']):
        masks = np.moveaxis(mask_api.decode(r['masks']), -1, 0)
        sample = dict(img_id=r['img_id'], pred_instances=dict(
            bboxes=torch.from_numpy(r['bboxes']),
            scores=torch.from_numpy(r['scores']),
            labels=torch.from_numpy(r['labels']),
            masks=torch.from_numpy(masks.astype(bool))))
        start = time.perf_counter()
        metric.process({}, [sample])
        seconds += time.perf_counter() - start
        images += 1
        if images == args.process_images:
            break
    return dict(seconds=seconds, images=images,
                per_image_ms=1000 * seconds / images)


def lend_np_float():
    np.float = float  # lvis-api 0.5.3, in this child only


def child_metric(args) -> dict:
    from mmengine.logging import MMLogger

    from mmdet_droploss.evaluation.metrics import FastLVISMetric
    MMLogger.get_instance('bench_lvis_scale', log_level='WARNING')
    val = ann_files(args.data)['val']
    fixed = args.protocol == 'fixed'
    # what process() leaves rank 0: the judged detections under the
    # standard protocol, every one under Fixed AP
    records = held_records(val, packed=True, judged=not fixed)
    held_peak = peak_mib()
    kwargs = dict(max_dets=None, max_dets_per_cat=10000) if fixed else {}
    metric = FastLVISMetric(ann_file=val, metric=['bbox', 'segm'],
                            progress=False, nproc=args.nproc, **kwargs)
    start = time.perf_counter()
    numbers = metric.compute_metrics(records)
    return dict(seconds=time.perf_counter() - start, numbers=numbers,
                held_peak_mib=held_peak,
                dets=sum(len(r['scores']) for r in records))


def child_api(args) -> dict:
    from lvis import LVIS, LVISEval, LVISResults

    from mmdet_droploss.evaluation.metrics.fast_lvis_metric import (
        lvis_results,
    )
    lend_np_float()
    val = ann_files(args.data)['val']
    records = held_records(val, packed=True)
    start = time.perf_counter()
    gt = LVIS(val)
    cat_ids = gt.get_cat_ids()  # the file's order: the dataset's labels
    numbers = {}
    for iou_type in ('bbox', 'segm'):
        dets = lvis_results(records, iou_type, cat_ids)
        evaluator = LVISEval(gt, LVISResults(gt, dets), iou_type)
        evaluator.run()
        for key, value in evaluator.get_results().items():
            numbers[f'{iou_type}_{key}'] = float(value)
        del dets, evaluator
    return dict(seconds=time.perf_counter() - start, numbers=numbers)


CHILDREN = dict(imports=child_imports, json=child_json,
                dataset=child_dataset, freq=child_freq, rfs=child_rfs,
                hold=child_hold, process=child_process,
                metric=child_metric, api=child_api)


# ------------------------------------------------------------------ driver
def run_child(name: str, data: str, **options) -> dict:
    """One measurement in a fresh process; its result and peak memory."""
    cmd = [sys.executable, HERE, '--child', name, '--data', data]
    for key, value in options.items():
        flag = '--' + key.replace('_', '-')
        if value is True:
            cmd.append(flag)
        elif value is not None and value is not False:
            cmd += [flag, str(value)]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_ranks(n: int, data: str) -> dict:
    """``dataset`` in n processes at once: wall time, and the sum of their
    peaks (an upper bound of the machine's peak, reached when they peak
    together, as ranks loading at the same moment do)."""
    cmd = [sys.executable, HERE, '--child', 'dataset', '--data', data]
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    outs = [json.loads(p.communicate()[0].strip().splitlines()[-1])
            for p in procs]
    if any(p.returncode for p in procs):
        raise RuntimeError(f'a rank failed: {[p.returncode for p in procs]}')
    return dict(seconds=time.perf_counter() - start,
                peak_mib=sum(o['peak_mib'] for o in outs),
                after_mib=sum(o['after_mib'] for o in outs))


def largest_difference(a: dict, b: dict) -> float:
    return max(abs(a[k] - b[k]) for k in COMPARED)


def row(name: str, seconds: float, mib: float, ref: str = '',
        ratio: Optional[str] = None) -> None:
    print(f'| {name} | {seconds:,.1f} s | {mib:,.0f} MiB | {ref} | '
          f'{ratio or ""} |')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument('stats', nargs='?',
                        help='LVIS v1 training-set category statistics '
                        '(to write --data when it is missing)')
    parser.add_argument('--data', default='data/lvis_scale',
                        help='folder of make_lvis_scale.py\'s files')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='size of the data written when missing')
    parser.add_argument('--ranks', type=int, default=8)
    parser.add_argument('--nproc', type=int, default=2)
    parser.add_argument('--api-scales', type=float, nargs='*',
                        default=[0.05, 0.1],
                        help='fractions of the validation set lvis-api '
                        'runs on')
    parser.add_argument('--process-images', type=int, default=100)
    parser.add_argument('--parts', nargs='*',
                        default=['load', 'sampling', 'metric'],
                        choices=['load', 'sampling', 'metric'])
    # a child's options
    parser.add_argument('--child', choices=sorted(CHILDREN),
                        help=argparse.SUPPRESS)
    parser.add_argument('--thr', type=float, help=argparse.SUPPRESS)
    parser.add_argument('--packed', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--judged', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--protocol', default='standard',
                        help=argparse.SUPPRESS)
    return parser.parse_args()


def ensure_data(stats: Optional[str], data: str, scale: float,
                splits=('train', 'val')) -> None:
    files = ann_files(data)
    missing = [s for s in splits if not osp.isfile(files[s])]
    if not missing:
        if not osp.isfile(records_file(files['val'])):
            write_records(files['val'])
        return
    if not stats:
        raise SystemExit(
            f'{data} lacks {[files[s] for s in missing]}: give the LVIS v1 '
            'statistics file as the first argument to write them.')
    from mmdet_droploss.datasets.lvis_scale import make_lvis_scale
    start = time.perf_counter()
    make_lvis_scale(stats, data, scale=scale, splits=missing)
    write_records(files['val'])
    print(f'wrote {missing} at scale {scale} into {data} in '
          f'{time.perf_counter() - start:.0f} s', file=sys.stderr)


def main() -> None:
    args = parse_args()
    if args.child:
        out = CHILDREN[args.child](args)
        out['peak_mib'] = peak_mib()
        print(json.dumps(out))
        return
    ensure_data(args.stats, args.data, args.scale)
    with open(ann_files(args.data)['val'], encoding='utf-8') as f:
        val = json.load(f)
    num_val = len(val['images'])
    del val
    print(f'LVIS v1-shaped data from make_lvis_scale: '
          f'{os.path.getsize(ann_files(args.data)["train"]) / 2**30:.2f} GiB '
          f'training file, {num_val:,} validation images; '
          f'{os.cpu_count()} cores; each row one fresh process')
    print()
    print('| what | time | peak memory | reference | ratio |')
    print('| --- | --- | --- | --- | --- |')
    base = run_child('imports', args.data)
    row('Python with torch, MMDetection and this package imported',
        0, base['peak_mib'])
    if 'load' in args.parts:
        ref = run_child('json', args.data)
        row('`json.load` of the training file (reference)', ref['seconds'],
            ref['peak_mib'])
        one = run_child('dataset', args.data)
        row(f'`LVISV1Dataset`, 1 process ({one["images"]} images kept; '
            f'{one["after_mib"]:,.0f} MiB after)', one['seconds'],
            one['peak_mib'], 'json.load',
            f'{one["seconds"] / ref["seconds"]:.2f}x time, '
            f'{one["peak_mib"] / ref["peak_mib"]:.2f}x memory')
        if args.ranks > 1:
            many = run_ranks(args.ranks, args.data)
            row(f'`LVISV1Dataset`, {args.ranks} processes at once (sum of '
                f'peaks; {many["after_mib"]:,.0f} MiB after)',
                many['seconds'], many['peak_mib'], '1 process',
                f'{many["seconds"] / one["seconds"]:.2f}x time, '
                f'{many["peak_mib"] / one["peak_mib"]:.2f}x memory')
    if 'sampling' in args.parts:
        freq = run_child('freq', args.data)
        row(f'category frequencies (the hook), on the loaded dataset '
            f'({freq["tail"]} tail at 0.00177)', freq['seconds'],
            freq['peak_mib'], 'the dataset alone',
            f'+{freq["peak_mib"] - freq["base_peak_mib"]:,.0f} MiB')
        for thr in (1e-3, 5e-4):
            rfs = run_child('rfs', args.data, thr=thr)
            row(f'RFS repeat factors `ClassBalancedDataset` {thr:g} '
                f'({rfs["length"]} samples an epoch)', rfs['seconds'],
                rfs['peak_mib'], 'the dataset alone',
                f'+{rfs["peak_mib"] - rfs["base_peak_mib"]:,.0f} MiB')
    if 'metric' in args.parts:
        lists = run_child('hold', args.data)
        row(f'rank 0 holds all {lists["dets"]:,} detections, an RLE dict '
            f'each (pickle {lists["pickle_mib"]:,.0f} MiB, '
            f'{lists["dump_s"]:.1f} s + {lists["load_s"]:.1f} s)',
            lists['dump_s'] + lists['load_s'], lists['held_mib'],
            '(reference)')
        for judged in (False, True):
            packs = run_child('hold', args.data, packed=True, judged=judged)
            what = (f'the {packs["dets"]:,} judged detections'
                    if judged else f'all {packs["dets"]:,} detections')
            row(f'rank 0 holds {what}, `PackedMasks` (pickle '
                f'{packs["pickle_mib"]:,.0f} MiB, {packs["dump_s"]:.1f} s + '
                f'{packs["load_s"]:.1f} s)',
                packs['dump_s'] + packs['load_s'], packs['held_mib'],
                'all, an RLE dict each',
                f'{packs["held_mib"] / lists["held_mib"]:.2f}x memory')
        procs = {}
        for judged in (False, True):
            proc = procs[judged] = run_child(
                'process', args.data, process_images=args.process_images,
                judged=judged)
            what = 'judged detections' if judged else 'every detection'
            row(f'`process()` keeping {what}: '
                f'{proc["per_image_ms"]:.1f} ms an image x {num_val} '
                f'images (measured on {proc["images"]})',
                proc['per_image_ms'] * num_val / 1000, proc['peak_mib'],
                'keeping every detection' if judged else '',
                f'{procs[False]["seconds"] / proc["seconds"]:.2f}x faster'
                if judged else '')
        results = {}
        for protocol in ('standard', 'fixed'):
            for nproc in sorted({1, args.nproc}):
                res = run_child('metric', args.data, nproc=nproc,
                                protocol=protocol)
                results[protocol, nproc] = res
                base = results[protocol, 1]
                diff = largest_difference(res['numbers'], base['numbers'])
                ratio = (f'{base["seconds"] / res["seconds"]:.2f}x faster, '
                         f'largest difference {diff:.0e}'
                         if nproc > 1 else '')
                row(f'`compute_metrics` bbox + segm, {protocol}, nproc '
                    f'{nproc} ({res["dets"]:,} detections held)',
                    res['seconds'], res['peak_mib'],
                    'nproc 1' if nproc > 1 else '', ratio)
        ours_full = results['standard', args.nproc]
        api_runs = []
        for scale in args.api_scales:
            sub = osp.join(args.data, f'val_{scale:g}')
            ensure_data(args.stats, sub, scale, splits=('val', ))
            api = run_child('api', sub)
            ours = run_child('metric', sub, nproc=args.nproc)
            api_runs.append((scale, api))
            row(f'lvis-api bbox + segm on {scale:g} of the validation set',
                api['seconds'], api['peak_mib'],
                f'ours, nproc {args.nproc}: {ours["seconds"]:.1f} s, '
                f'{ours["peak_mib"]:,.0f} MiB',
                f'ours {api["seconds"] / ours["seconds"]:.2f}x faster, '
                'largest difference '
                f'{largest_difference(api["numbers"], ours["numbers"]):.0e}')
        if len(api_runs) >= 2:
            # a line through the two largest fractions: fixed costs plus a
            # cost per image
            (s1, a1), (s2, a2) = api_runs[-2], api_runs[-1]

            def at_full(key: str) -> float:
                slope = (a2[key] - a1[key]) / (s2 - s1)
                return a2[key] + slope * (1 - s2)

            api_s, api_mib = at_full('seconds'), at_full('peak_mib')
            row(f'lvis-api bbox + segm, full validation set, extrapolated '
                f'linearly from {s1:g} and {s2:g}', api_s, api_mib,
                f'ours, nproc {args.nproc}, measured above',
                f'ours {api_s / ours_full["seconds"]:.1f}x faster, '
                f'{ours_full["peak_mib"] / api_mib:.2f}x the memory')

if __name__ == '__main__':
    main()
