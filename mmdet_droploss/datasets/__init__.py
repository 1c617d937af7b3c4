# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .category_frequency import (
    count_category_images,
    frequencies_from_annotations,
    frequencies_from_dataset,
    load_annotation_file,
    load_category_freq,
)
from .transforms import CheckedLoadImageFromFile

__all__ = [
    'CheckedLoadImageFromFile', 'count_category_images',
    'frequencies_from_annotations', 'frequencies_from_dataset',
    'load_annotation_file', 'load_category_freq'
]
