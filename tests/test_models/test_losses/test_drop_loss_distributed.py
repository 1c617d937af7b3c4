"""Synchronised keep ratio across real processes (gloo): what runs a
collective, and that no rank is left waiting in one."""
import json

import pytest
import torch
from mmdet.registry import MODELS
from torch.profiler import ProfilerActivity, profile

from mmdet_droploss.models import DropLoss

BG = 4
# rank 0: 1 tail of 2 foreground RoIs; rank 1: 3 tail of 3 (tail = {2, 3})
LABELS = {0: [0, 2, BG, BG], 1: [2, 3, 3, BG, BG, BG]}
FREQ = [0.5, 0.1, 0.001, 0.0001]


def worker(rank: int, out_dir: str) -> None:
    labels = torch.tensor(LABELS[rank])
    logits = torch.zeros(len(labels), 4)
    result = {}
    for sync in (False, True):
        loss = DropLoss(num_classes=4, category_freq=FREQ, sync_stats=sync)
        result[str(sync)] = loss(logits, labels)['drop_keep_ratio'].item()
    with open(f'{out_dir}/rank{rank}.json', 'w') as f:
        json.dump(result, f)


def test_sync_stats_use_the_global_batch(tmp_path, spawn_two):
    spawn_two(worker, str(tmp_path))
    results = [json.loads((tmp_path / f'rank{r}.json').read_text())
               for r in (0, 1)]
    # per replica (the paper's default): each rank its own ratio
    assert results[0]['False'] == pytest.approx(1 / 2)
    assert results[1]['False'] == pytest.approx(3 / 3)
    # synchronised: both ranks the ratio of the concatenated batch, 4 / 5
    assert results[0]['True'] == pytest.approx(4 / 5)
    assert results[1]['True'] == pytest.approx(4 / 5)


def head_worker(rank: int, out_dir: str) -> None:
    head = MODELS.build(dict(
        type='DropLossBBoxHead', in_channels=4, fc_out_channels=8,
        roi_feat_size=7, num_classes=4,
        loss_cls=dict(type='DropLoss', num_classes=4, category_freq=FREQ,
                      sync_stats=True)))
    # rank 0's batch has no RoI at all; rank 1's is LABELS[0]
    num = 0 if rank == 0 else len(LABELS[0])
    labels = torch.tensor(LABELS[0][:num], dtype=torch.long)
    losses = head.loss(
        torch.zeros(num, 4, requires_grad=True), torch.zeros(num, 16),
        torch.zeros(num, 5), labels, torch.ones(num), torch.zeros(num, 4),
        torch.zeros(num, 4))
    losses['loss_cls'].backward()
    with open(f'{out_dir}/head_rank{rank}.json', 'w') as f:
        json.dump(dict(ratio=losses['drop_keep_ratio'].item(),
                       loss=losses['loss_cls'].item()), f)


def test_a_rank_without_rois_joins_the_collective(tmp_path, spawn_two):
    spawn_two(head_worker, str(tmp_path))
    results = [json.loads((tmp_path / f'head_rank{r}.json').read_text())
               for r in (0, 1)]
    # both ranks: rank 1's 1 tail of 2 foreground RoIs; rank 0 adds none
    # (alone, rank 0 would keep everything: 1)
    assert [r['ratio'] for r in results] == [0.5, 0.5]
    assert results[0]['loss'] == 0 and results[1]['loss'] > 0


def collective_worker(rank: int, out_dir: str, mode: str) -> None:
    """One forward under the profiler; rank 0 writes the gloo ops."""
    loss = DropLoss(num_classes=4, category_freq=FREQ, mode=mode,
                    sync_stats=True)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        labels = torch.tensor(LABELS[rank])
        loss(torch.zeros(len(labels), 4), labels)
    names = [e.name for e in prof.events()
             if e.name.startswith('gloo:') or 'allreduce' in e.name]
    with open(f'{out_dir}/collectives_rank{rank}.json', 'w') as f:
        json.dump(names, f)


@pytest.mark.parametrize('mode, collectives', [('drop', 1), ('eql', 0),
                                               ('bce', 0)])
def test_only_drop_mode_runs_a_collective(tmp_path, spawn_two, mode,
                                          collectives):
    """Counted in the profiler's record of one forward on each of 2
    ranks (the ranks leave without tearing the group down: torch 2.1's
    gloo could deadlock there, see spawn_two)."""
    spawn_two(collective_worker, str(tmp_path), mode)
    for rank in (0, 1):
        names = json.loads(
            (tmp_path / f'collectives_rank{rank}.json').read_text())
        assert len([n for n in names if n.startswith('gloo:')]) == \
            collectives, names


def draw_worker(rank: int, out_dir: str) -> None:
    """Each rank seeded as MMEngine seeds it (one seed for all ranks, the
    default ``diff_rank_seed=False``), same inputs, the same run twice."""
    from mmengine.runner import set_random_seed
    labels = torch.tensor([0, 2] + [BG] * 2000)  # r = 1 / 2
    masks = []
    for _ in range(2):
        set_random_seed(7)
        loss = DropLoss(num_classes=4, category_freq=FREQ, return_dict=False)
        logits = torch.zeros(len(labels), 4, requires_grad=True)
        loss(logits, labels).backward()
        # zero logits: a kept term has a gradient, a dropped one none
        masks.append((logits.grad[2:, 2:] != 0).flatten().tolist())
    with open(f'{out_dir}/draw_rank{rank}.json', 'w') as f:
        json.dump(masks, f)


def test_ranks_draw_independent_drops(tmp_path, spawn_two):
    """Every rank used to draw the same masks from identically seeded
    default generators (agreement 100%); independent draws with r = 1/2
    agree on r^2 + (1 - r)^2 = 1/2 of the 4,000 background x tail terms,
    and each rank's draws are independent per element."""
    spawn_two(draw_worker, str(tmp_path))
    runs = [json.loads((tmp_path / f'draw_rank{r}.json').read_text())
            for r in (0, 1)]
    # the same run twice: the same masks, on each rank
    assert runs[0][0] == runs[0][1] and runs[1][0] == runs[1][1]
    a, b = torch.tensor(runs[0][0]), torch.tensor(runs[1][0])
    for mask in (a, b):
        assert mask.float().mean().item() == pytest.approx(0.5, abs=0.05)
        # within a rank, one draw per element: the two tail columns of the
        # 2,000 background rows are uncorrelated (one draw per RoI: 1)
        corr = torch.corrcoef(mask.view(2000, 2).T.float())[0, 1]
        assert corr.abs() < 5 / 2000 ** 0.5
    assert (a == b).float().mean().item() == pytest.approx(0.5, abs=0.05)
