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
    for suffix, head in _as_list(roi_head.get('bbox_head')):
        loss = head.get('loss_cls') or {}
        head_type = str(head.get('type', ''))
        if str(loss.get('type', '')).split('.')[-1] == 'DropLoss' and \
                loss.get('sync_stats', False) and \
                head_type.split('.')[-1] != 'DropLossBBoxHead':
            raise ValueError(
                f'model.roi_head.bbox_head{suffix}.loss_cls has '
                f'sync_stats=True but the head is {head_type!r}, which skips '
                'the loss when a batch has no RoI and would leave the other '
                'processes waiting in its all_reduce; use type='
                "'DropLossBBoxHead' or sync_stats=False.")
