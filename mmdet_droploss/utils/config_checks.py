# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import List, Tuple

from mmengine.config import Config, ConfigDict


def _as_list(heads) -> List[Tuple[str, dict]]:
    if heads is None:
        return []
    if isinstance(heads, (list, tuple)):
        return [(f'[{i}]', h) for i, h in enumerate(heads)]
    return [('', heads)]


def class_counts(model_cfg: ConfigDict) -> List[Tuple[str, int]]:
    """Every class count a detector config states, with where it stands.

    Looks at the RoI head's box head(s) and their classification loss
    (``num_classes`` and the length of an explicit ``category_freq`` list),
    and at the mask head(s) unless class-agnostic. Cascade heads (lists) are
    covered stage by stage.

    Args:
        model_cfg (ConfigDict): ``cfg.model``.

    Returns:
        List[Tuple[str, int]]: (config path, count) pairs.
    """
    counts = []
    roi_head = model_cfg.get('roi_head') or {}
    for suffix, head in _as_list(roi_head.get('bbox_head')):
        path = f'model.roi_head.bbox_head{suffix}'
        if 'num_classes' in head:
            counts.append((f'{path}.num_classes', head['num_classes']))
        loss = head.get('loss_cls') or {}
        if 'num_classes' in loss:
            counts.append((f'{path}.loss_cls.num_classes',
                           loss['num_classes']))
        freq = loss.get('category_freq')
        if isinstance(freq, (list, tuple)):
            counts.append((f'{path}.loss_cls.category_freq (entries)',
                           len(freq)))
    for suffix, head in _as_list(roi_head.get('mask_head')):
        if 'num_classes' in head and not head.get('class_agnostic', False):
            counts.append((f'model.roi_head.mask_head{suffix}.num_classes',
                           head['num_classes']))
    return counts


def check_class_counts(cfg: Config) -> None:
    """Fail before anything is built when the class counts disagree.

    Args:
        cfg (Config): A detector config.
    """
    counts = class_counts(cfg.get('model') or {})
    if len({n for _, n in counts}) > 1:
        listed = ', '.join(f'{path}={n}' for path, n in counts)
        raise ValueError(
            f'The class counts of the config disagree: {listed}. Set them '
            'all to the number of classes of the training dataset (LVIS v1: '
            '1203, LVIS v0.5: 1230).')


def check_sync_stats(cfg: Config) -> None:
    """Refuse ``sync_stats=True`` in a box head that may skip its loss.

    DropLoss then all-reduces its counts at every call, so every rank must
    call it at every iteration. MMDetection's box heads skip the
    classification loss when a batch has no RoI, which would leave the
    other ranks waiting for ever; ``DropLossBBoxHead`` calls it always.

    Args:
        cfg (Config): A detector config.
    """
    roi_head = (cfg.get('model') or {}).get('roi_head') or {}
    bbox_heads = roi_head.get('bbox_head')
    multi_stage = isinstance(bbox_heads, (list, tuple)) or \
        'Cascade' in str(roi_head.get('type', ''))
    for suffix, head in _as_list(bbox_heads):
        loss = head.get('loss_cls') or {}
        head_type = str(head.get('type', ''))
        if not (str(loss.get('type', '')).split('.')[-1] == 'DropLoss'
                and loss.get('sync_stats', False)):
            continue
        if multi_stage:
            # CascadeRoIHead.loss leaves the stage loop on a rank whose
            # refine_bboxes finds no proposal: the other ranks would wait
            # in the next stage's all_reduce for ever
            raise ValueError(
                f'model.roi_head.bbox_head{suffix}.loss_cls has '
                f"sync_stats=True in a multi-stage RoI head "
                f"({roi_head.get('type', 'a list of box heads')!r}), which "
                'skips the later stages on a rank without proposals and '
                'would leave the other processes waiting in their '
                'all_reduce; use sync_stats=False for cascade heads.')
        if head_type.split('.')[-1] != 'DropLossBBoxHead':
            raise ValueError(
                f'model.roi_head.bbox_head{suffix}.loss_cls has '
                f'sync_stats=True but the head is {head_type!r}, which skips '
                'the loss when a batch has no RoI and would leave the other '
                'processes waiting in its all_reduce; use type='
                "'DropLossBBoxHead' or sync_stats=False.")


def check_amp_dtype(cfg: Config) -> None:
    """Refuse bfloat16 in MMEngine's (CUDA) ``AmpOptimWrapper``.

    mmcv 2.1.0's CUDA kernels (RoIAlign among them) are compiled for
    float32 and float16 only, so Mask R-CNN under bfloat16 autocast fails
    inside mmcv at the first iteration. ``CPUAmpOptimWrapper`` (``--amp``
    on a machine without CUDA) keeps those ops in float32 and may use
    bfloat16.

    Args:
        cfg (Config): A training config, after ``--amp`` set its wrapper.
    """
    wrapper = cfg.get('optim_wrapper') or {}
    dtype = str(wrapper.get('dtype', ''))
    if str(wrapper.get('type', '')).split('.')[-1] == 'AmpOptimWrapper' \
            and 'bfloat16' in dtype:
        raise ValueError(
            f'optim_wrapper has type AmpOptimWrapper with dtype={dtype!r}, '
            "but mmcv 2.1.0's CUDA RoIAlign runs in float32 and float16 "
            "only; use optim_wrapper.dtype='float16' (what --amp uses on "
            'CUDA, with loss scaling) or train without --amp.')
