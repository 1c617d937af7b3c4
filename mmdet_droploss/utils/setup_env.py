# Copyright (c) mmdet-droploss contributors. All rights reserved.
import torch
import torch.distributed as dist
from mmengine.config import Config


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
