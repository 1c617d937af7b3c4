# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .category_frequency import (
    count_category_images,
    frequencies_from_annotations,
    frequencies_from_dataset,
    load_annotation_file,
)
from .checked_loading import CheckedLoadImageFromFile
from .machine_shared_coco import MachineSharedCocoDataset
from .machine_shared_lvis_v05 import MachineSharedLVISV05Dataset
from .machine_shared_lvis_v1 import MachineSharedLVISV1Dataset
from .repeat_factor_sampler import RepeatFactorSampler, repeat_factors

__all__ = [
    'CheckedLoadImageFromFile', 'MachineSharedCocoDataset',
    'MachineSharedLVISV05Dataset', 'MachineSharedLVISV1Dataset',
    'RepeatFactorSampler', 'count_category_images',
    'frequencies_from_annotations', 'frequencies_from_dataset',
    'load_annotation_file', 'repeat_factors'
]
