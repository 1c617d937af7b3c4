# Copyright (c) mmdet-droploss contributors. All rights reserved.
from typing import Optional

from mmcv.transforms import LoadImageFromFile
from mmdet.registry import TRANSFORMS
from mmengine.logging import print_log

ON_ERROR = ('raise', 'skip')


@TRANSFORMS.register_module()
class CheckedLoadImageFromFile(LoadImageFromFile):
    """``LoadImageFromFile`` that names a missing or corrupt image and the
    ways out, and skips it only when told to.

    Args:
        on_error (str): 'raise' (stop with the image's path) or 'skip' (log
            a warning with the path and drop the sample; in training
            MMEngine's dataset draws another). Defaults to 'raise'.
        **kwargs: Arguments of ``LoadImageFromFile`` but ``ignore_empty``,
            which would skip silently.
    """

    def __init__(self, on_error: str = 'raise', **kwargs) -> None:
        if on_error not in ON_ERROR:
            raise ValueError(f'on_error must be one of {ON_ERROR}, got '
                             f'{on_error!r}.')
        if 'ignore_empty' in kwargs:
            raise ValueError(
                "CheckedLoadImageFromFile takes on_error='skip' instead of "
                'ignore_empty, which drops images without a word.')
        super().__init__(**kwargs)
        self.on_error = on_error

    def transform(self, results: dict) -> Optional[dict]:
        """Load ``results['img_path']``; None for a skipped image."""
        try:
            return super().transform(results)
        except (OSError, AssertionError, ValueError) as err:
            path = results['img_path']
            problem = ('is missing' if isinstance(err, FileNotFoundError)
                       else f'cannot be decoded ({err})')
            if self.on_error == 'skip':
                print_log(f'Skipped image {path}: it {problem}.',
                          logger='current', level=30)
                return None
            raise RuntimeError(
                f'Image {path} {problem}. Restore the file, check data_root '
                'and data_prefix, or skip unreadable images with '
                "dict(type='CheckedLoadImageFromFile', on_error='skip') as "
                'the first transform of the pipeline.') from err

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", on_error='{self.on_error}')"
