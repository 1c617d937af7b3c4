# Copyright (c) mmdet-droploss contributors. All rights reserved.
from mmdet.datasets import LVISV05Dataset
from mmdet.registry import DATASETS

from .file_classes import FileClassesMixin
from .machine_shared import MachineSharedMixin


@DATASETS.register_module()
class MachineSharedLVISV05Dataset(MachineSharedMixin, FileClassesMixin,
                                  LVISV05Dataset):
    """``LVISV05Dataset`` loaded once per machine (see MachineSharedMixin)."""
