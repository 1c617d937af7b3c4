# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .category_frequency import (
    count_category_images,
    frequencies_from_annotations,
    frequencies_from_dataset,
    load_annotation_file,
    load_category_freq,
)
from .lvis_scale import (
    iter_lvis_scale_detections,
    lvis_scale_detections,
    make_lvis_scale,
)
from .transforms import CheckedLoadImageFromFile

__all__ = [
    'CheckedLoadImageFromFile', 'count_category_images',
    'frequencies_from_annotations', 'frequencies_from_dataset',
    'iter_lvis_scale_detections', 'load_annotation_file',
    'load_category_freq', 'lvis_scale_detections', 'make_lvis_scale'
]
