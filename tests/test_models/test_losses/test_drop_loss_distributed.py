"""Synchronised keep ratio across two real processes (gloo)."""
import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from mmdet_droploss.models.losses import DropLoss

BG = 4
# rank 0: 1 tail of 2 foreground RoIs; rank 1: 3 tail of 3 (tail = {2, 3})
LABELS = {0: [0, 2, BG, BG], 1: [2, 3, 3, BG, BG, BG]}
FREQ = [0.5, 0.1, 0.001, 0.0001]


def worker(rank: int, store: str, out_dir: str) -> None:
    dist.init_process_group(
        'gloo', init_method=f'file://{store}', rank=rank, world_size=2)
    labels = torch.tensor(LABELS[rank])
    logits = torch.zeros(len(labels), 4)
    result = {}
    for sync in (False, True):
        loss = DropLoss(num_classes=4, category_freq=FREQ, sync_stats=sync)
        result[str(sync)] = loss(logits, labels)['drop_keep_ratio'].item()
    with open(f'{out_dir}/rank{rank}.json', 'w') as f:
        json.dump(result, f)
    dist.destroy_process_group()


def test_sync_stats_use_the_global_batch(tmp_path):
    mp.spawn(worker, args=(str(tmp_path / 'store'), str(tmp_path)),
             nprocs=2, join=True)
    results = [json.loads((tmp_path / f'rank{r}.json').read_text())
               for r in (0, 1)]
    # per replica (the paper's default): each rank its own ratio
    assert results[0]['False'] == pytest.approx(1 / 2)
    assert results[1]['False'] == pytest.approx(3 / 3)
    # synchronised: both ranks the ratio of the concatenated batch, 4 / 5
    assert results[0]['True'] == pytest.approx(4 / 5)
    assert results[1]['True'] == pytest.approx(4 / 5)
