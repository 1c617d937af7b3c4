"""PackedMasks: one image's RLE masks as one bytes object and offsets."""
import pickle

import numpy as np
import pytest
from pycocotools import mask as mask_util

from mmdet_droploss.evaluation.packed_masks import (
    PackedMasks,
    packed,
)


def same(a: PackedMasks, b: PackedMasks) -> bool:
    return (a.size, a.rles()) == (b.size, b.rles())


@pytest.fixture
def rles() -> list:
    masks = np.zeros((3, 6, 5), dtype=np.uint8)
    masks[0, 1:3, 1:4] = 1
    masks[1, :, 2] = 1
    masks[2, 5, :] = 1
    return mask_util.encode(np.asfortranarray(masks.transpose(1, 2, 0)))


def test_round_trip_gives_the_same_masks(rles):
    pack = PackedMasks.from_rles(rles)
    assert len(pack) == 3 and pack.size == (6, 5)
    out = pack.rles()
    assert [r['counts'] for r in out] == [r['counts'].decode() for r in rles]
    assert mask_util.area(out).tolist() == [6, 6, 5]
    np.testing.assert_array_equal(mask_util.decode(out),
                                  mask_util.decode(rles))


@pytest.mark.parametrize('index', [[2, 0], [1], [], [0, 0, 2]])
def test_take_selects_in_order(rles, index):
    pack = PackedMasks.from_rles(rles).take(np.array(index, dtype=int))
    assert len(pack) == len(index)
    assert [r['counts'] for r in pack.rles()] == [
        rles[i]['counts'].decode() for i in index]
    assert same(pack, PackedMasks.from_rles([rles[i] for i in index],
                                            size=(6, 5)))


def test_pickles_as_a_few_objects(rles):
    pack = PackedMasks.from_rles(rles * 100)
    again = pickle.loads(pickle.dumps(pack))
    assert same(again, pack) and again is not pack
    # the counts once, and a few bytes per mask for the offsets
    per_mask = (len(pickle.dumps(pack)) - len(pack.counts)) / len(pack)
    assert per_mask < 10


def test_a_list_of_rles_is_packed_and_a_pack_kept(rles):
    pack = packed(rles)
    assert isinstance(pack, PackedMasks) and packed(pack) is pack


@pytest.mark.parametrize('bad, match', [
    ('sizes', 'different sizes'),
    ('empty', 'needs its size'),
])
def test_bad_lists_are_named(rles, bad, match):
    if bad == 'sizes':
        other = mask_util.encode(np.zeros((4, 4, 1), dtype=np.uint8,
                                          order='F'))
        with pytest.raises(ValueError, match=match):
            PackedMasks.from_rles(list(rles) + other)
    else:
        with pytest.raises(ValueError, match=match):
            PackedMasks.from_rles([])
