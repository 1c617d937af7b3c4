# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np


class PackedMasks:
    """The RLE masks of one image's detections, packed into one bytes
    object.

    A list of RLE dicts costs about 300 bytes of Python objects per mask
    besides its counts (a dict, a size list, a bytes object); on LVIS val
    (19,809 images x 300 detections) that is 1.7 GB more on the rank that
    gathers them, and millions of objects to pickle. Here one image's masks
    are one ``bytes`` of their concatenated counts and an offsets array.

    Args:
        size (Tuple[int, int]): Height and width of every mask.
        counts (bytes): The masks' compressed RLE counts, concatenated.
        offsets (np.ndarray): Start of each mask's counts, and the end of
            the last, shape (n + 1, ).
    """

    __slots__ = ('size', 'counts', 'offsets')

    def __init__(self, size: Tuple[int, int], counts: bytes,
                 offsets: np.ndarray) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.counts = counts
        self.offsets = offsets

    @classmethod
    def from_rles(cls, rles: Sequence[dict],
                  size: Optional[Tuple[int, int]] = None) -> 'PackedMasks':
        """Pack RLE dicts of one image.

        Args:
            rles (Sequence[dict]): RLEs with ``size`` and ``counts``
                (compressed, bytes or str), all of the same size.
            size (Tuple[int, int], optional): Height and width, needed
                when ``rles`` is empty.

        Returns:
            PackedMasks: The masks, in order.
        """
        counts = [r['counts'].encode() if isinstance(r['counts'], str)
                  else r['counts'] for r in rles]
        sizes = {tuple(r['size']) for r in rles}
        if len(sizes) > 1:
            raise ValueError(
                f'the masks of one image have different sizes {sorted(sizes)}'
                ': they must all be at the image size.')
        if sizes:
            size = sizes.pop()
        elif size is None:
            raise ValueError('an empty list of masks needs its size')
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum([len(c) for c in counts], out=offsets[1:])
        return cls(size, b''.join(counts), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedMasks):
            return NotImplemented
        return (self.size == other.size and self.counts == other.counts
                and np.array_equal(self.offsets, other.offsets))

    def __repr__(self) -> str:
        return (f'PackedMasks({len(self)} masks of {self.size}, '
                f'{len(self.counts)} bytes)')

    def take(self, index: Union[np.ndarray, Sequence[int]]) -> 'PackedMasks':
        """The masks ``index`` selects, in that order.

        Args:
            index (np.ndarray | Sequence[int]): Mask indices, shape (k, ).

        Returns:
            PackedMasks: A new pack.
        """
        starts, ends = self.offsets[:-1], self.offsets[1:]
        parts = [self.counts[starts[i]:ends[i]] for i in index]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) for p in parts], out=offsets[1:])
        return PackedMasks(self.size, b''.join(parts), offsets)

    def rles(self,
             index: Optional[Union[np.ndarray, Sequence[int]]] = None
             ) -> List[dict]:
        """RLE dicts, as pycocotools and the LVIS result format take them.

        Args:
            index (np.ndarray | Sequence[int], optional): Mask indices;
                None gives all.

        Returns:
            List[dict]: ``size`` ([h, w]) and ``counts`` (str) of each.
        """
        if index is None:
            index = range(len(self))
        size = list(self.size)
        starts, ends = self.offsets[:-1], self.offsets[1:]
        return [dict(size=size, counts=self.counts[starts[i]:ends[i]].decode())
                for i in index]


def packed(masks: Union[PackedMasks, Sequence[dict]]) -> PackedMasks:
    """``masks`` as a :class:`PackedMasks`, packing a list of RLE dicts.

    Args:
        masks (PackedMasks | Sequence[dict]): One image's masks.

    Returns:
        PackedMasks: The same masks.
    """
    if isinstance(masks, PackedMasks):
        return masks
    return PackedMasks.from_rles(masks)
