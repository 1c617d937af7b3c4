# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Forward+backward time and peak memory of the classification loss.

Three candidates on the same logits and labels, interleaved, several
repeats, median times:

- ``bce``: plain sigmoid BCE, ``binary_cross_entropy_with_logits`` on a
  one-hot target, summed over classes and divided by N (the baseline);
- ``transcription``: DropLoss written as the authors formulate it, with a
  dense one-hot target and dense N x C float weight tensors;
- ``droploss``: this package's ``DropLoss``.

Each ratio is printed on its own line, ending with the ratio. Peak memory
(``--memory``) is measured in a fresh process per candidate: the growth of
the peak resident set (CPU) or of ``max_memory_allocated`` (CUDA) during one
forward+backward, beyond the inputs.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict

import torch
import torch.nn.functional as F

try:
    from mmdet_droploss.models import DropLoss
except ImportError:  # a machine with PyTorch alone (tools/gpu/check.sh)
    DropLoss = None

QUICK = dict(num_rois=2048, num_classes=1203)
FULL = dict(num_rois=8192, num_classes=1203)


def make_inputs(num_rois: int,
                num_classes: int,
                device: str,
                seed: int = 0,
                autocast: bool = False) -> Dict:
    """Logits, labels and frequencies shaped like an LVIS v1 batch.

    876 of 1203 categories are tail (LVIS v1's count at lambda 0.00177,
    docs/method.md),
    a quarter of the RoIs are foreground (Mask R-CNN's sampler) and a fifth
    of those are tail categories.
    """
    g = torch.Generator().manual_seed(seed)
    num_tail = round(num_classes * 876 / 1203)
    perm = torch.randperm(num_classes, generator=g)
    freq = torch.full((num_classes, ), 0.01, dtype=torch.float64)
    freq[perm[:num_tail]] = 0.0005
    tail_cols, head_cols = perm[:num_tail], perm[num_tail:]
    num_fg = num_rois // 4
    num_tail_fg = num_fg // 5
    labels = torch.full((num_rois, ), num_classes, dtype=torch.long)
    labels[:num_tail_fg] = tail_cols[torch.randint(
        num_tail, (num_tail_fg, ), generator=g)]
    labels[num_tail_fg:num_fg] = head_cols[torch.randint(
        len(head_cols), (num_fg - num_tail_fg, ), generator=g)]
    labels = labels[torch.randperm(num_rois, generator=g)]
    logits = torch.randn(num_rois, num_classes, generator=g) * 2 - 4
    return dict(logits=logits.to(device), labels=labels.to(device),
                freq=freq.tolist(), tail=(freq < 0.00177).to(device),
                autocast=autocast)


def plain_bce(logits, labels, tail) -> torch.Tensor:
    num_rois, num_classes = logits.shape
    target = F.one_hot(labels, num_classes + 1)[:, :num_classes].float()
    return F.binary_cross_entropy_with_logits(
        logits, target, reduction='sum') / num_rois


def transcription(logits, labels, tail) -> torch.Tensor:
    """The authors' formulation, dense tensors throughout."""
    num_rois, num_classes = logits.shape
    target = F.one_hot(labels, num_classes + 1)[:, :num_classes].float()
    fg = (labels < num_classes).float()[:, None].expand(num_rois, num_classes)
    tail_w = tail.float()[None, :].expand(num_rois, num_classes)
    eql_w = 1 - fg * tail_w * (1 - target)
    num_fg = fg[:, 0].sum()
    r = (target * tail_w).sum() / num_fg if num_fg > 0 else 1.0
    drop = (torch.rand_like(logits) < r).float()
    bg_w = 1 - (1 - fg) * tail_w * (1 - drop)
    weight = eql_w * bg_w
    loss = F.binary_cross_entropy_with_logits(
        logits, target, reduction='none')
    return (loss * weight).sum() / num_rois


def load_ops():
    """``drop_loss_ops.py`` by path: it needs torch alone, the package
    (through MMDetection) needs mmcv."""
    import importlib.util
    from pathlib import Path
    path = (Path(__file__).resolve().parents[2] / 'mmdet_droploss' /
            'models' / 'losses' / 'drop_loss_ops.py')
    spec = importlib.util.spec_from_file_location('drop_loss_ops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def droploss_fn(freq) -> Callable:
    """The ``DropLoss`` module; without MMDetection, its tensor operations
    with the mean over RoIs that the module adds."""
    if DropLoss is None:
        ops = load_ops()

        def run_ops(logits, labels, tail) -> torch.Tensor:
            weight = ops.drop_loss_weight(labels, tail,
                                          ops.drop_keep_ratio(labels, tail))
            return ops.WeightedSigmoidBCE.apply(
                logits, labels, weight).sum() / logits.size(0)

        return run_ops

    loss = DropLoss(num_classes=len(freq), category_freq=freq,
                    return_dict=False)

    def run(logits, labels, tail) -> torch.Tensor:
        loss.to(logits.device)
        return loss(logits, labels, avg_factor=logits.size(0))

    return run


def candidates(freq) -> Dict[str, Callable]:
    return dict(bce=plain_bce, transcription=transcription,
                droploss=droploss_fn(freq))


def autocast_dtype(device: str) -> torch.dtype:
    """What ``--amp`` trains in: float16 on CUDA, bfloat16 on the CPU."""
    return torch.float16 if device == 'cuda' else torch.bfloat16


def step(fn: Callable, inputs: Dict) -> None:
    logits = inputs['logits'].detach().requires_grad_()
    if not inputs.get('autocast'):
        fn(logits, inputs['labels'], inputs['tail']).backward()
        return
    # as under --amp: the classifier hands over low-precision logits
    device = logits.device.type
    with torch.autocast(device, dtype=autocast_dtype(device)):
        loss = fn(logits.to(autocast_dtype(device)), inputs['labels'],
                  inputs['tail'])
    loss.backward()


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def time_all(inputs: Dict, device: str, repeats: int) -> Dict[str, float]:
    fns = candidates(inputs['freq'])
    for fn in fns.values():  # warm-up
        step(fn, inputs)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            sync(device)
            start = time.perf_counter()
            step(fn, inputs)
            sync(device)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def _status_kib(field: str) -> int:
    with open('/proc/self/status', encoding='ascii') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not in /proc/self/status')


def peak_memory(name: str, size: Dict, device: str,
                autocast: bool = False) -> int:
    """Peak bytes of one forward+backward beyond the inputs, in this process.

    CUDA: ``max_memory_allocated``. CPU (Linux): the peak resident set,
    reset just before the step through ``/proc/self/clear_refs``; the
    process is fresh, so full-size tensors are mapped and unmapped as they
    come and go.
    """
    inputs = make_inputs(**size, device=device, autocast=autocast)
    fn = candidates(inputs['freq'])[name]
    # kernels and thread pools, at a small size
    step(fn, make_inputs(64, size['num_classes'], device=device,
                         autocast=autocast))
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        step(fn, inputs)
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    with open('/proc/self/clear_refs', 'w', encoding='ascii') as f:
        f.write('5')  # VmHWM := VmRSS
    base = _status_kib('VmRSS')
    step(fn, inputs)
    return (_status_kib('VmHWM') - base) * 1024


def memory_all(size: Dict, device: str,
               autocast: bool = False) -> Dict[str, int]:
    """Each candidate in a fresh process, so that peaks do not mix."""
    out = {}
    for name in ('bce', 'transcription', 'droploss'):
        proc = subprocess.run(
            [sys.executable, __file__, '--memory-of', name, '--device',
             device, '--size', json.dumps(size)] +
            (['--autocast'] if autocast else []),
            capture_output=True, text=True, check=True)
        out[name] = int(proc.stdout.strip().splitlines()[-1])
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--full', action='store_true',
                        help='N = 8192 RoIs (16 images x 512), C = 1203')
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--memory', action='store_true',
                        help='also measure peak memory')
    parser.add_argument(
        '--autocast',
        action='store_true',
        help='logits and loss under autocast, as with --amp (float16 on '
        'CUDA, bfloat16 on the CPU)')
    parser.add_argument('--memory-of', help=argparse.SUPPRESS)
    parser.add_argument('--size', help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: CUDA is not available here.')
    if args.memory_of:
        print(peak_memory(args.memory_of, json.loads(args.size), args.device,
                          args.autocast))
        return
    size = FULL if args.full else QUICK
    device_name = (torch.cuda.get_device_name()
                   if args.device == 'cuda' else 'cpu')
    precision = (f'autocast {autocast_dtype(args.device)}'
                 if args.autocast else 'float32')
    print(f'N={size["num_rois"]} C={size["num_classes"]} {precision} on '
          f'{device_name}, {torch.get_num_threads()} threads, median of '
          f'{args.repeats}, forward+backward, torch {torch.__version__}, '
          + ('DropLoss module' if DropLoss else 'DropLoss tensor ops'))
    inputs = make_inputs(**size, device=args.device, autocast=args.autocast)
    med = time_all(inputs, args.device, args.repeats)
    for name, t in med.items():
        print(f'{name:>14}: {t * 1e3:8.2f} ms')
    print(f'time droploss / bce: {med["droploss"] / med["bce"]:.3f}')
    print('speed-up droploss vs transcription: '
          f'{med["transcription"] / med["droploss"]:.3f}')
    if args.memory:
        mem = memory_all(size, args.device, args.autocast)
        unit = size['num_rois'] * size['num_classes'] * 4
        for name, b in mem.items():
            print(f'{name:>14}: peak {b / 2**20:8.1f} MiB '
                  f'({b / unit:.2f} N x C float32 tensors)')
        print('extra memory droploss - bce, in N x C tensors: '
              f'{(mem["droploss"] - mem["bce"]) / unit:.2f}')


if __name__ == '__main__':
    main()
