# Copyright (c) mmdet-droploss contributors. All rights reserved.
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .machine_shared import MachineSharedMixin


@DATASETS.register_module()
class MachineSharedCocoDataset(MachineSharedMixin, CocoDataset):
    """``CocoDataset`` loaded once per machine and shared by its ranks
    (see :class:`MachineSharedMixin`)."""
