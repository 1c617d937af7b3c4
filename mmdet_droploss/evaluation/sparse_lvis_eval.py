# Copyright (c) mmdet-droploss contributors. All rights reserved.
import copy

import numpy as np
from faster_coco_eval import COCOeval_faster
from faster_coco_eval.core.faster_eval_api import _C


class SparseLVISEval(COCOeval_faster):
    """faster-coco-eval's (1.8.0) LVIS evaluation computing the IoUs of the
    image x category pairs with ground truth and detections only (the empty
    ones share one list), then its C++ matching and accumulation."""

    def evaluate(self) -> None:
        p = self.params
        p.imgIds = list(np.unique(p.imgIds))
        p.catIds = list(np.unique(p.catIds))
        p.maxDets = sorted(p.maxDets)
        self._prepare()
        img_index = {img_id: k for k, img_id in enumerate(p.imgIds)}
        cat_index = {cat_id: k for k, cat_id in enumerate(p.catIds)}
        empty: list = []
        ious = [[empty] * len(p.catIds) for _ in p.imgIds]
        for img_id, cat_id in self._nonempty_iou_pairs:
            ious[img_index[img_id]][cat_index[cat_id]] = self.computeIoU(
                img_id, cat_id)
        self._paramsEval = copy.deepcopy(p)
        self.eval = _C.COCOevalEvaluateAccumulate(
            self._paramsEval, ious, self.gt_dataset, self.dt_dataset,
            p.imgIds, p.catIds, bool(p.useCats))
