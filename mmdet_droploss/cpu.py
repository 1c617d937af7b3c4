# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""What a run needs on a machine without CUDA, and nothing else does: the
CPU AMP wrapper (``--amp`` without CUDA) and a torchrun launch over gloo.

``import mmdet_droploss`` does not load this module; ``tools/train.py`` and
``tools/test.py`` import it when there is no CUDA, which registers
``CPUAmpOptimWrapper`` and ``CPUDistributedDataParallel``.
"""
from contextlib import contextmanager
from typing import Any, List, Optional, Set

import torch
import torch.distributed as dist
from mmdet.models.dense_heads.base_dense_head import BaseDenseHead
from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.models.roi_heads.mask_heads import FCNMaskHead
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
from mmdet.registry import MODEL_WRAPPERS, OPTIM_WRAPPERS
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapper
from torch import nn


def to_float32(value: Any) -> Any:
    """``value`` with every lower-precision floating tensor, also inside
    lists, tuples and dicts, cast to float32."""
    if isinstance(value, torch.Tensor):
        return value.float() if value.is_floating_point() else value
    if isinstance(value, (list, tuple)):
        return type(value)(to_float32(v) for v in value)
    if isinstance(value, dict):
        return {k: to_float32(v) for k, v in value.items()}
    return value


def add_float32_islands(model: nn.Module) -> List:
    """Keep float32 where CPU bfloat16 autocast cannot go.

    mmcv's CPU kernels (RoIAlign in the RoI extractors, NMS in the heads'
    post-processing) take float32 only, and the heads' outputs feed box
    decoding, NMS and the losses. So RoI extractors get float32 features
    and every dense head, box head and mask head returns float32; the
    convolutions and linear layers still run in bfloat16. Module hooks on
    this model only.

    Args:
        model (nn.Module): The detector.

    Returns:
        List: The hook handles.
    """
    handles = []
    for module in model.modules():
        if isinstance(module, BaseRoIExtractor):
            handles.append(module.register_forward_pre_hook(
                lambda mod, args: to_float32(args)))
        elif isinstance(module, (BaseDenseHead, BBoxHead, FCNMaskHead)):
            handles.append(module.register_forward_hook(
                lambda mod, args, output: to_float32(output)))
    return handles


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """Mixed precision on the CPU: bfloat16 autocast in the forward pass.

    What ``tools/train.py --amp`` uses where CUDA is absent (with CUDA it is
    MMEngine's ``AmpOptimWrapper``). bfloat16 keeps float32's exponent
    range, so no loss scaling is needed. On first use, float32 islands are
    set on the model (:func:`add_float32_islands`).

    Args:
        dtype (str): Autocast dtype, 'bfloat16'. Defaults to 'bfloat16'.
        **kwargs: Arguments of ``OptimWrapper``.
    """

    def __init__(self, dtype: str = 'bfloat16', **kwargs) -> None:
        if dtype != 'bfloat16':
            raise ValueError(
                f"CPUAmpOptimWrapper supports dtype='bfloat16' (CPU "
                f'autocast), got {dtype!r}.')
        super().__init__(**kwargs)
        self.dtype = getattr(torch, dtype)
        self._island_models: Set[int] = set()

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Run the forward pass under CPU bfloat16 autocast.

        Args:
            model (nn.Module): The model being trained.
        """
        if id(model) not in self._island_models:
            add_float32_islands(model)
            self._island_models.add(id(model))
            print_log(
                'CPUAmpOptimWrapper: bfloat16 autocast on the CPU, float32 '
                'into the RoI extractors and out of the heads.',
                logger='current')
        with super().optim_context(model), torch.autocast(
                device_type='cpu', dtype=self.dtype):
            yield


@MODEL_WRAPPERS.register_module()
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps a module on the CPU.

    MMEngine's runner always passes ``device_ids=[LOCAL_RANK]``, which DDP
    rejects for a CPU module; here they are dropped for one. A module on an
    accelerator is wrapped exactly as by ``MMDistributedDataParallel``.

    Args:
        module (nn.Module): The model to wrap.
        device_ids (List[int], optional): Devices of an accelerator module.
    """

    def __init__(self,
                 module: nn.Module,
                 device_ids: Optional[List[int]] = None,
                 **kwargs) -> None:
        if next(module.parameters()).device.type == 'cpu':
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


def setup_cpu_distributed(cfg: Config) -> None:
    """Prepare a torchrun launch on a machine without CUDA.

    MMEngine's ``pytorch`` launcher calls ``torch.cuda.set_device`` and its
    default DDP wrapper passes ``device_ids``; both fail without CUDA. Here
    the process group is initialised with gloo from torchrun's environment
    (the runner then skips its own initialisation) and the model is wrapped
    by ``CPUDistributedDataParallel``. With CUDA nothing changes.

    Args:
        cfg (Config): The config; ``cfg.launcher`` is already set.
    """
    if cfg.get('launcher', 'none') != 'pytorch' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper_cfg = cfg.get('model_wrapper_cfg') or {}
    # the runner looks the type up in MMEngine's root registry: name the scope
    wrapper_cfg.setdefault('type', 'mmdet.CPUDistributedDataParallel')
    cfg.model_wrapper_cfg = wrapper_cfg
