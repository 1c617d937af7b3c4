# Copyright (c) mmdet-droploss contributors. All rights reserved.
from mmdet.datasets import LVISV1Dataset
from mmdet.registry import DATASETS

from .file_classes import FileClassesMixin
from .machine_shared import MachineSharedMixin


@DATASETS.register_module()
class MachineSharedLVISV1Dataset(MachineSharedMixin, FileClassesMixin,
                                 LVISV1Dataset):
    """``LVISV1Dataset`` loaded once per machine (see MachineSharedMixin)."""
