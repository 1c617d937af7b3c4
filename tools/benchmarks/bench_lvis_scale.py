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


def available_mib() -> float:
    with open('/proc/meminfo') as f:
        for line in f:
            if line.startswith('MemAvailable:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError('no MemAvailable in /proc/meminfo')


def ann_files(data: str) -> Dict[str, str]:
    return {s: osp.join(data, 'annotations', f'lvis_v1_{s}.json')
            for s in ('train', 'val')}


def build_dataset(data: str, shared: bool = False):
    """The training set as the configs build it, without a pipeline:
    loading and filtering are what is measured."""
    from mmdet.datasets import LVISV1Dataset

    from mmdet_droploss.datasets import MachineSharedLVISV1Dataset
    kind = MachineSharedLVISV1Dataset if shared else LVISV1Dataset
    return kind(
        data_root=data, ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''), pipeline=[],
        filter_cfg=dict(filter_empty_gt=True, min_size=32))


def detections(val: str, seed: int = 0):
    from mmdet_droploss.testing.lvis_scale import iter_lvis_scale_detections
    return iter_lvis_scale_detections(val, seed=seed)


def records_file(val: str, judged: bool = False) -> str:
    return osp.splitext(val)[0] + ('.judged' if judged else '') + \
        '.detections.pkl'


def write_records(val: str) -> None:
    """The detections of every validation image, as the gathered records
    of ``FastLVISMetric.process`` (masks packed), pickled once for the
    children to load: every detection (what ``process`` keeps for a result
    file or Fixed AP), and only the judged ones (what it keeps under the
    standard protocol, chosen by the metric's own ``judged_labels``)."""
    from mmdet_droploss.evaluation import FastLVISMetric, PackedMasks
    from mmdet_droploss.evaluation.fast_lvis_metric import (
        take_detections,
    )
    records = []
    for r in detections(val):
        r['masks'] = PackedMasks.from_rles(r['masks'])
        records.append(r)
    with open(records_file(val), 'wb') as f:
        pickle.dump(records, f, protocol=pickle.HIGHEST_PROTOCOL)
    labels = FastLVISMetric(ann_file=val).judged_labels
    judged = [
        take_detections(r, np.flatnonzero(np.isin(r['labels'],
                                                  labels[r['img_id']])))
        for r in records
    ]
    with open(records_file(val, judged=True), 'wb') as f:
        pickle.dump(judged, f, protocol=pickle.HIGHEST_PROTOCOL)


def held_records(val: str, packed: bool = True,
                 judged: bool = False) -> List[dict]:
    """The gathered records of every validation image; with ``judged``,
    only the detections LVIS judges; with ``packed`` False, masks as a list
    of RLE dicts each (counts bytes), as ``process`` kept them before
    PackedMasks."""
    with open(records_file(val, judged), 'rb') as f:
        records = pickle.load(f)
    if not packed:
        for r in records:
            pack = r['masks']
            size = list(pack.size)
            ends = pack.offsets.tolist()
            r['masks'] = [dict(size=list(size), counts=pack.counts[a:b])
                          for a, b in zip(ends[:-1], ends[1:])]
    return records


# ----------------------------------------------------------------- children
def child_records(args) -> dict:
    val = ann_files(args.data)['val']
    start = time.perf_counter()
    write_records(val)
    return dict(seconds=time.perf_counter() - start)


def child_count(args) -> dict:
    with open(ann_files(args.data)['val'], encoding='utf-8') as f:
        return dict(images=len(json.load(f)['images']))


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


def pss_mib() -> float:
    """This process's proportional share of its memory: pages shared with
    other processes count divided among them."""
    with open('/proc/self/smaps_rollup') as f:
        for line in f:
            if line.startswith('Pss:'):
                return int(line.split()[1]) / 1024
    raise RuntimeError('no Pss in /proc/self/smaps_rollup')


def child_dataset(args) -> dict:
    """One rank's training set: MMDetection's ``LVISV1Dataset``, or with
    ``--shared`` ``MachineSharedLVISV1Dataset`` (in a gloo group of
    ``--world`` processes when more than one)."""
    if args.world > 1:
        import torch.distributed as dist
        dist.init_process_group(
            'gloo', init_method=f'file://{args.store}', rank=args.rank,
            world_size=args.world)
    start = time.perf_counter()
    dataset = build_dataset(args.data, args.shared)
    dataset.full_init()
    seconds = time.perf_counter() - start
    # every serialized byte read once, as an epoch's data loading does
    int(np.asarray(dataset.data_bytes[::4096], dtype=np.int64).sum())
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return dict(seconds=seconds, images=len(dataset), after_mib=pss_mib(),
                loader_mib=children / 1024)


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

    from mmdet_droploss.evaluation import FastLVISMetric
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

    from mmdet_droploss.evaluation import FastLVISMetric
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
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return dict(seconds=time.perf_counter() - start, numbers=numbers,
                held_peak_mib=held_peak, workers_mib=workers,
                dets=sum(len(r['scores']) for r in records))


def child_api(args) -> dict:
    from lvis import LVIS, LVISEval, LVISResults

    from mmdet_droploss.evaluation.fast_lvis_metric import (
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


CHILDREN = dict(records=child_records, count=child_count,
                imports=child_imports, json=child_json,
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


def run_ranks(n: int, data: str, shared: bool) -> dict:
    """``dataset`` in n processes at once (with ``shared``, one gloo group):
    wall time, and the sum of their peaks and of their loaders' (an upper
    bound of the machine's peak, reached when they peak together, as ranks
    loading at the same moment do)."""
    store = osp.abspath(osp.join(data, f'.store-{os.getpid()}'))
    cmd = [sys.executable, HERE, '--child', 'dataset', '--data', data,
           '--world', str(n), '--store', store] + (['--shared'] if shared
                                                   else [])
    start = time.perf_counter()
    procs = [subprocess.Popen(cmd + ['--rank', str(r)],
                              stdout=subprocess.PIPE, text=True)
             for r in range(n)]
    outs = [p.communicate()[0].strip().splitlines() for p in procs]
    if os.path.exists(store):
        os.remove(store)
    if any(p.returncode for p in procs):
        raise RuntimeError(f'a rank failed: {[p.returncode for p in procs]}')
    outs = [json.loads(o[-1]) for o in outs]
    return dict(seconds=time.perf_counter() - start,
                peak_mib=sum(o['peak_mib'] + o['loader_mib'] for o in outs),
                after_mib=sum(o['after_mib'] for o in outs))


def largest_difference(a: dict, b: dict) -> float:
    return max(abs(a[k] - b[k]) for k in COMPARED)


ROWS: List[List[str]] = []


def row(name: str, seconds: float, mib: float, ref: str = '',
        ratio: Optional[str] = None) -> None:
    """One line of the table; shown on stderr as it comes."""
    cells = [name, f'{seconds:,.1f} s' if seconds else '',
             f'{mib:,.0f} MiB', ref, ratio or '']
    ROWS.append(cells)
    print(' | '.join(cells), file=sys.stderr, flush=True)


def print_table() -> None:
    """The rows, in aligned columns, on stdout."""
    rows = [['what', 'time', 'peak memory', 'reference', 'ratio']] + ROWS
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    for r in rows:
        print('  '.join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


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
    parser.add_argument('--shared', action='store_true',
                        help=argparse.SUPPRESS)
    parser.add_argument('--world', type=int, default=1,
                        help=argparse.SUPPRESS)
    parser.add_argument('--rank', type=int, default=0,
                        help=argparse.SUPPRESS)
    parser.add_argument('--store', help=argparse.SUPPRESS)
    parser.add_argument('--protocol', default='standard',
                        help=argparse.SUPPRESS)
    return parser.parse_args()


def ensure_data(stats: Optional[str], data: str, scale: float,
                splits=('train', 'val')) -> None:
    files = ann_files(data)
    missing = [s for s in splits if not osp.isfile(files[s])]
    if not missing:
        if not osp.isfile(records_file(files['val'], judged=True)):
            run_child('records', data)
        return
    if not stats:
        raise SystemExit(
            f'{data} lacks {[files[s] for s in missing]}: give the LVIS v1 '
            'statistics file as the first argument to write them.')
    start = time.perf_counter()
    subprocess.run([sys.executable, osp.join(osp.dirname(HERE), '..', 'misc',
                                             'make_lvis_scale.py'), stats,
                    '--out', data, '--scale', str(scale),
                    '--dets-per-image', '0', '--splits', *missing],
                   check=True, stdout=subprocess.DEVNULL)
    run_child('records', data)
    print(f'wrote {missing} at scale {scale} into {data} in '
          f'{time.perf_counter() - start:.0f} s', file=sys.stderr)


def main() -> None:
    args = parse_args()
    if args.child:
        out = CHILDREN[args.child](args)
        out['peak_mib'] = peak_mib()
        print(json.dumps(out))
        return
    # the children's peaks count from this process's memory at the fork:
    # everything large happens in children
    ensure_data(args.stats, args.data, args.scale)
    num_val = run_child('count', args.data)['images']
    print(f'LVIS v1-shaped data from make_lvis_scale: '
          f'{os.path.getsize(ann_files(args.data)["train"]) / 2**30:.2f} GiB '
          f'training file, {num_val:,} validation images; '
          f'{os.cpu_count()} cores; each row one fresh process')
    print()
    base = run_child('imports', args.data)
    row('Python with torch, MMDetection and this package imported',
        0, base['peak_mib'])
    if 'load' in args.parts:
        ref = run_child('json', args.data)
        row('`json.load` of the training file (reference)', ref['seconds'],
            ref['peak_mib'])
        one = run_child('dataset', args.data)
        row(f'`LVISV1Dataset`, 1 process ({one["images"]:,} images kept; '
            f'{one["after_mib"]:,.0f} MiB held after)', one['seconds'],
            one['peak_mib'], 'json.load',
            f'{one["seconds"] / ref["seconds"]:.2f}x time, '
            f'{one["peak_mib"] / ref["peak_mib"]:.2f}x memory')
        mine = run_child('dataset', args.data, shared=True)
        row(f'`MachineSharedLVISV1Dataset`, 1 process (peak: rank '
            f'{mine["peak_mib"]:,.0f} + loader {mine["loader_mib"]:,.0f} MiB;'
            f' {mine["after_mib"]:,.0f} MiB held after)', mine['seconds'],
            mine['peak_mib'] + mine['loader_mib'], '`LVISV1Dataset`',
            f'{mine["seconds"] / one["seconds"]:.2f}x time, '
            f'{mine["after_mib"] / one["after_mib"]:.2f}x memory held')
        available = available_mib()
        if args.ranks > 1 and args.ranks * one['peak_mib'] > available:
            row(f'`LVISV1Dataset`, {args.ranks} ranks at once: not run, '
                f'{args.ranks} x {one["peak_mib"]:,.0f} MiB exceeds the '
                f'{available:,.0f} MiB available (estimate: {args.ranks} x '
                'one process)', 0, args.ranks * one['peak_mib'])
            plain = dict(seconds=0, peak_mib=args.ranks * one['peak_mib'],
                         after_mib=args.ranks * one['after_mib'])
        elif args.ranks > 1:
            plain = run_ranks(args.ranks, args.data, shared=False)
            row(f'`LVISV1Dataset`, {args.ranks} ranks at once (sum of '
                f'peaks; {plain["after_mib"]:,.0f} MiB held after)',
                plain['seconds'], plain['peak_mib'])
        if args.ranks > 1:
            many = run_ranks(args.ranks, args.data, shared=True)
            row(f'`MachineSharedLVISV1Dataset`, {args.ranks} ranks of one '
                f'gloo group (sum of peaks, loader included; '
                f'{many["after_mib"]:,.0f} MiB held after)',
                many['seconds'], many['peak_mib'],
                f'`LVISV1Dataset`, {args.ranks} ranks',
                f'{many["peak_mib"] / plain["peak_mib"]:.2f}x peak, '
                f'{many["after_mib"] / plain["after_mib"]:.2f}x held')
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
                workers = (f'; rank {res["peak_mib"]:,.0f} + {nproc} x '
                           f'worker {res["workers_mib"]:,.0f} MiB'
                           if nproc > 1 else '')
                res['peak_mib'] += nproc * res['workers_mib'] \
                    if nproc > 1 else 0
                row(f'`compute_metrics` bbox + segm, {protocol}, nproc '
                    f'{nproc} ({res["dets"]:,} detections held{workers})',
                    res['seconds'], res['peak_mib'],
                    'nproc 1' if nproc > 1 else '', ratio)
        ours_full = results['standard', args.nproc]
        api_runs = []
        for scale in args.api_scales:
            sub = osp.join(args.data, f'val_{scale:g}')
            ensure_data(args.stats, sub, scale, splits=('val', ))
            api = run_child('api', sub)
            ours = run_child('metric', sub, nproc=args.nproc)
            if args.nproc > 1:  # the worker processes' peaks too
                ours['peak_mib'] += args.nproc * ours['workers_mib']
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
    print_table()

if __name__ == '__main__':
    main()
