# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""DropLoss's loss and gradients on the CPU and on CUDA, same inputs.

Needs PyTorch alone: the loss's tensor operations are loaded from
``drop_loss_ops.py`` by path. The random drop draws come from each device's
own generator, so the weights are drawn once on the CPU and given to both;
the draw on CUDA is checked separately against the keep ratio ``r``.
Prints the largest differences and exits non-zero when a tolerance fails.
``--device cpu`` compares the CPU with itself: the GPU check's dry run.
"""
import argparse
import importlib.util
import sys
from pathlib import Path

import torch

OPS_PATH = (Path(__file__).resolve().parents[2] / 'mmdet_droploss' /
            'models' / 'losses' / 'drop_loss_ops.py')


def load_ops():
    spec = importlib.util.spec_from_file_location('drop_loss_ops', OPS_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def loss_and_grad(ops, logits, labels, weight):
    logits = logits.detach().clone().requires_grad_()
    loss = ops.WeightedSigmoidBCE.apply(logits, labels, weight).sum()
    loss.backward()
    return loss.detach().double().cpu(), logits.grad.double().cpu()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    device = parser.parse_args().device
    if device == 'cuda' and not torch.cuda.is_available():
        print('CUDA is not available')
        return 1
    ops = load_ops()
    g = torch.Generator().manual_seed(0)
    num_rois, num_classes = 4096, 1203
    tail = torch.rand(num_classes, generator=g) < 876 / 1203
    labels = torch.full((num_rois, ), num_classes, dtype=torch.long)
    labels[:1024] = torch.randint(num_classes, (1024, ), generator=g)
    logits = torch.randn(num_rois, num_classes, generator=g) * 3 - 4

    r_cpu = ops.drop_keep_ratio(labels, tail)
    r_gpu = ops.drop_keep_ratio(labels.to(device), tail.to(device))
    print(f'keep ratio r: cpu {r_cpu.item():.6f} {device} {r_gpu.item():.6f}')
    ok = r_cpu.item() == r_gpu.item()

    torch.manual_seed(0)
    weight = ops.drop_loss_weight(labels, tail, r_cpu)
    cpu = loss_and_grad(ops, logits, labels, weight)
    gpu = loss_and_grad(ops, logits.to(device), labels.to(device),
                        weight.to(device))
    loss_rel = ((cpu[0] - gpu[0]).abs() / cpu[0].abs()).item()
    grad_abs = (cpu[1] - gpu[1]).abs().max().item()
    print(f'loss cpu {cpu[0].item():.6f} {device} {gpu[0].item():.6f} '
          f'relative difference {loss_rel:.2e}')
    print(f'gradient largest absolute difference {grad_abs:.2e} '
          f'(largest gradient {cpu[1].abs().max().item():.3f})')
    ok &= loss_rel < 1e-5 and grad_abs < 1e-6

    # the draw on the device: background x tail terms kept at rate r
    w_gpu = ops.drop_loss_weight(labels.to(device), tail.to(device), r_gpu)
    bg = labels.to(device) == num_classes
    kept = w_gpu[bg][:, tail.to(device)].mean().item()
    print(f'{device} draw: background x tail kept {kept:.4f} '
          f'(r {r_gpu.item():.4f}, {int(bg.sum()) * int(tail.sum())} terms)')
    ok &= abs(kept - r_gpu.item()) < 0.01
    # the draw leaves every other term alone: same weights as the CPU's
    same = (w_gpu[~bg].cpu() == weight[~bg.cpu()]).all().item()
    print(f'{device} foreground rows equal the cpu ones: {same}')
    ok &= bool(same)
    print(f'CPU vs {device}: ' + ('OK' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
