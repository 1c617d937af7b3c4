"""A test-only hook: each rank writes its own losses of every iteration."""
import json
import os.path as osp
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook


@HOOKS.register_module()
class RankLossHook(Hook):
    """Appends ``{"iter": i, "losses": {...}}`` lines to
    ``<work_dir>/losses_rank<r>.jsonl``: the values this rank computed,
    before any averaging over ranks."""

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        record = dict(
            iter=runner.iter + 1,
            losses={k: float(v) for k, v in (outputs or {}).items()})
        path = osp.join(runner.work_dir, f'losses_rank{get_rank()}.jsonl')
        with open(path, 'a', encoding='utf-8') as f:
            f.write(json.dumps(record) + '\n')
