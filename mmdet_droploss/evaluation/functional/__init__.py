# Copyright (c) mmdet-droploss contributors. All rights reserved.
from .category_parts import (
    category_costs,
    default_nproc,
    evaluate_categories,
    evaluate_categories_in_processes,
    ground_truth_of,
    local_world_size,
    merge_category_parts,
    split_categories,
    split_detections,
    summarize_categories,
)
from .packed_masks import PackedMasks, packed
from .sparse_lvis_eval import SparseLVISEval

__all__ = [
    'PackedMasks', 'SparseLVISEval', 'category_costs', 'default_nproc',
    'evaluate_categories', 'evaluate_categories_in_processes',
    'ground_truth_of', 'local_world_size', 'merge_category_parts', 'packed',
    'split_categories', 'split_detections', 'summarize_categories'
]
