# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np


class PackedMasks:
    """One image's RLE masks as one ``bytes`` of their counts and offsets:
    a few objects to gather and pickle instead of three per mask.

    Args:
        size (Tuple[int, int]): Height and width of every mask.
        counts (Sequence[bytes]): Each mask's compressed RLE counts.
    """

    __slots__ = ('size', 'counts', 'offsets')

    def __init__(self, size: Tuple[int, int], counts: Sequence[bytes]) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.counts = b''.join(counts)
        # start of each mask's counts and the end of the last, shape (n + 1, )
        self.offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in counts], out=self.offsets[1:])

    @classmethod
    def from_rles(cls, rles: Sequence[dict],
                  size: Optional[Tuple[int, int]] = None) -> 'PackedMasks':
        """Pack one image's RLE dicts (``counts`` bytes or str); ``size``
        (height, width) is needed when ``rles`` is empty."""
        sizes = {tuple(r['size']) for r in rles}
        if len(sizes) > 1:
            raise ValueError(
                f'the masks of one image have different sizes {sorted(sizes)}'
                ': they must all be at the image size.')
        if sizes:
            size = sizes.pop()
        elif size is None:
            raise ValueError('an empty list of masks needs its size')
        return cls(size, [r['counts'].encode() if isinstance(r['counts'], str)
                          else r['counts'] for r in rles])

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def take(self, index: Union[np.ndarray, Sequence[int]]) -> 'PackedMasks':
        """The masks ``index`` (shape (k, )) selects, in that order."""
        return PackedMasks(self.size, [
            self.counts[self.offsets[i]:self.offsets[i + 1]] for i in index])

    def rles(self, index: Optional[Sequence[int]] = None) -> List[dict]:
        """RLE dicts (``size`` [h, w], ``counts`` str) of the masks ``index``
        selects (None: all), as pycocotools and LVIS results take them."""
        o, index = self.offsets, range(len(self)) if index is None else index
        return [dict(size=list(self.size), counts=self.counts[
            o[i]:o[i + 1]].decode()) for i in index]


def packed(masks: Union[PackedMasks, Sequence[dict]]) -> PackedMasks:
    """One image's masks as a :class:`PackedMasks`, packing RLE dicts."""
    return masks if isinstance(masks, PackedMasks) else \
        PackedMasks.from_rles(masks)
