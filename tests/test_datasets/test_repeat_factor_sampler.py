"""RepeatFactorSampler against detectron2's formula: per-image counts are
floor or ceil of r_i with mean r_i, epochs differ, ranks agree."""
import math
from collections import Counter

import numpy as np
import pytest

from mmdet_droploss.datasets import RepeatFactorSampler, repeat_factors


class Images:
    """A dataset of images given by their category lists."""

    def __init__(self, cats):
        self.cats = cats

    def __len__(self) -> int:
        return len(self.cats)

    def get_cat_ids(self, idx: int) -> list:
        return self.cats[idx]


# 10 images: category 0 in all, 1 in one (f 0.1), 2 in two (f 0.2, twice
# in the first of them), one image without a category
DATASET = Images([[0, 1], [0, 2, 2], [0, 2], *([[0]] * 6), []])


@pytest.mark.parametrize('thr, expected', [
    # r_c = max(1, sqrt(t / f_c)); an image takes its categories' largest
    (0.25, [math.sqrt(2.5), math.sqrt(1.25), math.sqrt(1.25), *[1.0] * 7]),
    (0.4, [2.0, math.sqrt(2), math.sqrt(2), *[1.0] * 7]),
    (0.05, [1.0] * 10),
])
def test_repeat_factors_are_detectron2s(thr, expected):
    assert repeat_factors(DATASET, thr) == pytest.approx(expected)


def test_counts_are_floor_or_ceil_with_mean_r():
    sampler = RepeatFactorSampler(DATASET, 0.25, seed=3)
    r = sampler.repeat_factors
    counts, lengths = [], set()
    for epoch in range(2000):
        sampler.set_epoch(epoch)
        seen = Counter(iter(sampler))
        counts.append([seen[i] for i in range(10)])
        lengths.add(len(sampler))
    counts = np.array(counts)
    assert ((counts == np.floor(r)) | (counts == np.ceil(r))).all()
    # the mean of 2,000 Bernoulli draws of p = 0.58: standard error 0.011
    assert np.abs(counts.mean(0) - r).max() < 0.05
    # MMDetection's ClassBalancedDataset would take ceil: 13 every epoch
    assert lengths == {10, 11, 12, 13}
    assert counts.sum(1).mean() == pytest.approx(r.sum(), abs=0.05)


def test_epochs_differ_and_a_seed_repeats_them():
    a = RepeatFactorSampler(DATASET, 0.4, seed=1)
    b = RepeatFactorSampler(DATASET, 0.4, seed=1)
    orders = []
    for epoch in range(3):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        orders.append(list(a))
        assert list(b) == orders[-1]
    assert orders[0] != orders[1] != orders[2]


@pytest.mark.parametrize('world_size', [2, 3])
def test_ranks_split_one_list(monkeypatch, world_size):
    """Every rank draws the same epoch (seed, epoch) and takes its share,
    padded as DefaultSampler pads."""
    import mmengine.dataset.sampler as sampler_module
    shares = []
    for rank in range(world_size):
        monkeypatch.setattr(sampler_module, 'get_dist_info',
                            lambda rank=rank: (rank, world_size))
        sampler = RepeatFactorSampler(DATASET, 0.25, seed=7)
        sampler.set_epoch(5)
        shares.append(list(sampler))
        assert len(shares[-1]) == len(sampler)
    assert len({len(s) for s in shares}) == 1
    whole = RepeatFactorSampler(DATASET, 0.25, seed=7)
    whole.set_epoch(5)
    drawn = list(whole.epoch_indices().tolist())
    merged = [i for group in zip(*shares) for i in group]
    assert merged[:len(drawn)] == drawn
    assert merged[len(drawn):] == drawn[:len(merged) - len(drawn)]


def test_bad_threshold_is_named():
    with pytest.raises(ValueError, match='oversample_thr must lie in'):
        RepeatFactorSampler(DATASET, 0)


def test_a_config_builds_it_and_an_iteration_loop_redraws(tiny_lvis):
    """Named in a dataloader config, the sampler samples MMDetection's LVIS
    dataset; MMEngine's iteration-based loop starts a new epoch (a new draw)
    when one ends."""
    from mmengine.runner import Runner
    from mmengine.runner.loops import _InfiniteDataloaderIterator
    loader = Runner.build_dataloader(dict(
        batch_size=1, num_workers=0,
        sampler=dict(type='RepeatFactorSampler', oversample_thr=0.5),
        collate_fn=dict(type='pseudo_collate'),
        dataset=dict(type='LVISV1Dataset', data_root=tiny_lvis['root'],
                     ann_file='annotations/lvis_v1_train.json',
                     data_prefix=dict(img=''), pipeline=[])), seed=0)
    sampler = loader.sampler
    assert isinstance(sampler, RepeatFactorSampler)
    assert sampler.repeat_factors.max() > 1
    first = sampler.epoch_indices().tolist()
    iterator = _InfiniteDataloaderIterator(loader)
    taken = [next(iterator)['img_id'][0] for _ in range(len(first) + 1)]
    dataset = loader.dataset
    assert taken[:len(first)] == [dataset[i]['img_id'] for i in first]
    assert sampler.epoch == 1 and sampler.epoch_indices().tolist() != first
