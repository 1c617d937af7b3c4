# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import List, Optional

import torch.nn as nn
from mmdet.registry import MODEL_WRAPPERS
from mmengine.model import MMDistributedDataParallel


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
