"""A test-only detector whose detections are derived from the ground truth,
so that an evaluation through the real test path gives informative numbers
(neither 0 nor -1) without training."""
from typing import List, Optional

import torch
import torch.nn as nn
from mmdet.models.detectors import BaseDetector
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from torch import Tensor


@MODELS.register_module()
class GroundTruthEchoDetector(BaseDetector):
    """Predicts each image's ground-truth objects (loaded by the test
    pipeline): every other box and mask shifted by ``shift`` pixels,
    scores falling with the object's index."""

    def __init__(self,
                 shift: float = 6.0,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None,
                 **detector_settings) -> None:
        # detector_settings: the tests' --cfg-options for the demo model
        # (backbone depth, proposal counts), which this model does not use
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.shift = shift
        # the runner builds an optimizer and loads a checkpoint: one weight
        self.unused = nn.Parameter(torch.zeros(1))

    def predict(self, batch_inputs: Tensor, batch_data_samples: List,
                rescale: bool = True) -> List:
        for sample in batch_data_samples:
            gt = sample.gt_instances
            boxes = gt.bboxes
            boxes = boxes.tensor if hasattr(boxes, 'tensor') else boxes
            index = torch.arange(len(gt), dtype=torch.float32)
            pred = InstanceData()
            pred.bboxes = boxes.float() + (index % 2)[:, None] * self.shift
            pred.scores = 1 - index / (len(gt) + 1)
            pred.labels = gt.labels
            masks = torch.as_tensor(gt.masks.to_ndarray()).bool()
            shift = int(self.shift)
            masks[1::2] = masks[1::2].roll((shift, shift), dims=(1, 2))
            pred.masks = masks
            sample.pred_instances = pred
        return batch_data_samples

    def loss(self, batch_inputs: Tensor, batch_data_samples: List) -> dict:
        raise NotImplementedError('GroundTruthEchoDetector only predicts.')

    def _forward(self, batch_inputs: Tensor, batch_data_samples=None):
        raise NotImplementedError('GroundTruthEchoDetector only predicts.')

    def extract_feat(self, batch_inputs: Tensor) -> Tensor:
        return batch_inputs
