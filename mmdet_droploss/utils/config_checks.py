# Copyright (c) mmdet-droploss contributors. All rights reserved.
import importlib
from typing import Any, Iterator, List, Tuple

from mmengine.config import Config


def _as_list(heads) -> List[Tuple[str, dict]]:
    if heads is None:
        return []
    if isinstance(heads, (list, tuple)):
        return [(f'[{i}]', h) for i, h in enumerate(heads)]
    return [('', heads)]


def is_multi_stage(roi_head: dict) -> bool:
    """Whether an RoI head config runs its box heads in stages.

    True for a list of box heads, a ``num_stages`` entry, or a type
    registered as a subclass of MMDetection's ``CascadeRoIHead`` (Cascade,
    HTC, SCNet, Sparse R-CNN heads).

    Args:
        roi_head (dict): ``cfg.model.roi_head``.

    Returns:
        bool: Whether the head is multi-stage.
    """
    if isinstance(roi_head.get('bbox_head'), (list, tuple)) or \
            'num_stages' in roi_head:
        return True
    head_type = roi_head.get('type')
    if not isinstance(head_type, str):
        return isinstance(head_type, type) and _is_cascade(head_type)
    # imported here: the package's stack check runs before mmdet is imported
    from mmdet.registry import MODELS
    head_cls = MODELS.get(head_type)
    return head_cls is not None and _is_cascade(head_cls)


def _is_cascade(head_cls: type) -> bool:
    from mmdet.models.roi_heads import CascadeRoIHead
    return issubclass(head_cls, CascadeRoIHead)


def check_sync_stats(cfg: Config) -> None:
    """Refuse ``sync_stats=True`` in a box head that may skip its loss.

    DropLoss then all-reduces its counts at every call, so every rank must
    call it at every iteration. MMDetection's box heads skip the
    classification loss when a batch has no RoI, which would leave the
    other ranks waiting for ever; ``DropLossBBoxHead`` calls it always.
    Multi-stage heads (:func:`is_multi_stage`) are refused whatever their
    box heads: ``CascadeRoIHead.loss`` leaves its stage loop on a rank
    whose ``refine_bboxes`` finds no RoI, and the other ranks wait in the
    next stage's all-reduce.

    Args:
        cfg (Config): A detector config.
    """
    roi_head = (cfg.get('model') or {}).get('roi_head') or {}
    bbox_heads = roi_head.get('bbox_head')
    multi_stage = is_multi_stage(roi_head)
    for suffix, head in _as_list(bbox_heads):
        loss = head.get('loss_cls') or {}
        head_type = str(head.get('type', ''))
        if not (str(loss.get('type', '')).split('.')[-1] == 'DropLoss'
                and loss.get('sync_stats', False)):
            continue
        if multi_stage:
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


def _type_name(type_: object) -> str:
    """A config's ``type`` as its class name, without a scope."""
    if isinstance(type_, type):
        return type_.__name__
    return str(type_).split('.')[-1]


def check_amp_dtype(cfg: Config) -> None:
    """Refuse bfloat16 in MMEngine's (CUDA) ``AmpOptimWrapper``.

    mmcv 2.1.0's CUDA RoIAlign dispatches float64, float32 and float16
    (``AT_DISPATCH_FLOATING_TYPES_AND_HALF`` in ``roi_align_cuda.cu``), not
    bfloat16, and nothing casts its input back to float32 under CUDA
    autocast, so Mask R-CNN under bfloat16 autocast fails inside mmcv at
    the first iteration. float16 with loss scaling is what ``--amp`` uses
    on CUDA; keeping RoIAlign in float32 there, as ``CPUAmpOptimWrapper``
    does on the CPU (where it may use bfloat16), would need a CUDA wrapper
    of our own, so the config is refused instead.

    Args:
        cfg (Config): A training config, after ``--amp`` set its wrapper.
    """
    wrapper = cfg.get('optim_wrapper') or {}
    dtype = str(wrapper.get('dtype', ''))
    if _type_name(wrapper.get('type', '')) == 'AmpOptimWrapper' \
            and 'bfloat16' in dtype:
        raise ValueError(
            f'optim_wrapper has type AmpOptimWrapper with dtype={dtype!r}, '
            "but mmcv 2.1.0's CUDA RoIAlign runs in float64, float32 and "
            "float16 only, not bfloat16; use optim_wrapper.dtype='float16' "
            '(what --amp uses on CUDA, with loss scaling) or train without '
            '--amp.')


def _strings(node: Any) -> Iterator[str]:
    """Every string inside nested dicts and lists."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _strings(value)


def check_pretrained(model_cfg: dict) -> None:
    """Raise before training when the model starts from ``torchvision://``
    weights and torchvision does not import.

    MMEngine asks torchvision for the URL of such weights (it downloads them
    once into torch's hub cache), when the weights are initialised, after
    the data and the model are built.

    Args:
        model_cfg (dict): The config's ``model``.

    Raises:
        ImportError: Naming the weights and the two fixes.
    """
    names = sorted({s for s in _strings(model_cfg)
                    if s.startswith(('torchvision://', 'modelzoo://'))})
    if not names:
        return
    try:
        importlib.import_module('torchvision')
    except Exception as e:  # noqa: BLE001 (an import can fail many ways)
        raise ImportError(
            f'The model starts from {names}, and MMEngine needs torchvision '
            f'to find their URL, but it does not import ({e}). Fix: pip '
            'install the torchvision of this torch (torchvision 0.16.2 for '
            'torch 2.1.2), or point init_cfg at a local copy of the weights, '
            'e.g. --cfg-options model.backbone.init_cfg.checkpoint='
            f'/path/resnet50-0676ba61.pth (docs/installation.md, "ImageNet '
            'weights").') from None
