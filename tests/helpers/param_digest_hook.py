"""A test-only hook: each rank writes a digest of its model parameters."""
import hashlib
import os.path as osp

from mmdet.registry import HOOKS
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class ParamDigestHook(Hook):

    def after_train(self, runner) -> None:
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        digest = hashlib.sha256()
        for name, param in sorted(model.named_parameters()):
            digest.update(name.encode())
            digest.update(param.detach().cpu().contiguous().numpy().tobytes())
        with open(osp.join(runner.work_dir, f'params_rank{get_rank()}.txt'),
                  'w') as f:
            f.write(digest.hexdigest())
