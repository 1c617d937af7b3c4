# Copyright (c) mmdet-droploss contributors. All rights reserved.
import math
from collections import Counter
from typing import Iterator, Optional

import numpy as np
import torch
from mmdet.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler


def repeat_factors(dataset, oversample_thr: float) -> np.ndarray:
    """Each image's repeat factor (float64, (len(dataset), )) as detectron2
    computes it: the largest ``r_c = max(1, sqrt(t / f_c))`` of its
    categories (1 for none), ``f_c`` the share of images holding ``c``."""
    cats = [set(dataset.get_cat_ids(i)) for i in range(len(dataset))]
    counts = Counter(c for image_cats in cats for c in image_cats)
    rep = {c: max(1.0, math.sqrt(oversample_thr * len(cats) / n))
           for c, n in counts.items()}
    return np.array([max((rep[c] for c in image_cats), default=1.0)
                     for image_cats in cats])


@DATA_SAMPLERS.register_module()
class RepeatFactorSampler(DefaultSampler):
    """Detectron2's ``RepeatFactorTrainingSampler``: each epoch an image is
    taken ``floor(r_i)`` times plus once with probability ``r_i - floor(r_i)``
    (``ClassBalancedDataset`` takes ``ceil(r_i)``), drawn from (seed, epoch)
    alike on every rank, shuffled and split as ``DefaultSampler`` does.

    Args:
        dataset: The dataset (``get_cat_ids`` per index).
        oversample_thr (float): The threshold ``t`` of :func:`repeat_factors`
            (the authors' 0.0005 on LVIS v1, MMDetection's 0.001).
        shuffle (bool): Shuffle each epoch's list. Defaults to True.
        seed (int, optional): The same on every rank; None draws one and
            shares it (as ``DefaultSampler``).
    """

    def __init__(self,
                 dataset,
                 oversample_thr: float,
                 shuffle: bool = True,
                 seed: Optional[int] = None) -> None:
        if not 0 < oversample_thr <= 1:
            raise ValueError('oversample_thr must lie in (0, 1] (a share of '
                             f'the images), got {oversample_thr!r}.')
        super().__init__(dataset, shuffle=shuffle, seed=seed, round_up=True)
        self.repeat_factors = repeat_factors(dataset, oversample_thr)
        self._drawn = (None, None)  # (epoch, its indices)

    def epoch_indices(self) -> torch.Tensor:
        """The epoch's images before the split across ranks."""
        if self._drawn[0] != self.epoch:
            g = torch.Generator()
            g.manual_seed(self.seed + self.epoch)
            r = torch.from_numpy(self.repeat_factors)
            extra = torch.rand(len(r), generator=g, dtype=torch.float64)
            counts = r.floor() + (extra < r - r.floor())
            indices = torch.repeat_interleave(
                torch.arange(len(r)), counts.long())
            if self.shuffle:
                indices = indices[torch.randperm(len(indices), generator=g)]
            self._drawn = (self.epoch, indices)
        return self._drawn[1]

    def __iter__(self) -> Iterator[int]:
        indices = self.epoch_indices().tolist()
        # as DefaultSampler: repeat the head to an even split
        total = len(self) * self.world_size
        indices = (indices * (total // len(indices) + 1))[:total]
        return iter(indices[self.rank:total:self.world_size])

    def __len__(self) -> int:
        """The number of samples of this rank in the current epoch."""
        return math.ceil(len(self.epoch_indices()) / self.world_size)
