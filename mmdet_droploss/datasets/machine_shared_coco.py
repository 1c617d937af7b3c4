# Copyright (c) mmdet-droploss contributors. All rights reserved.
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

from .file_classes import FileClassesMixin
from .machine_shared import MachineSharedMixin


@DATASETS.register_module()
class MachineSharedCocoDataset(MachineSharedMixin, FileClassesMixin,
                               CocoDataset):
    """``CocoDataset`` loaded once per machine (see MachineSharedMixin)."""
