# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Let torch's weights-only loading read MMEngine's checkpoints.

torch 2.6 made ``torch.load`` weights-only by default; MMEngine 0.10.7 calls
it without ``weights_only``, and its checkpoints hold, besides tensors, the
message hub's ``HistoryBuffer`` objects with numpy arrays inside. So
``init_detector``, ``DetInferencer``, ``load_from`` and ``--resume`` stop at
``Unsupported global``. Here exactly those globals are allow-listed through
torch's public ``add_safe_globals``; weights-only loading stays on, and any
other global still stops the load with torch's own error.
"""
from typing import Any

import numpy as np
import torch
from mmengine.logging import HistoryBuffer


def history_buffer_method(obj: Any, name: str) -> Any:
    """``getattr`` as the pickle of a ``HistoryBuffer`` needs it: its
    statistics methods (``HistoryBuffer.min`` is pickled as ``getattr(
    HistoryBuffer, 'min')``), nothing else.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if obj is not HistoryBuffer or name.startswith('_'):
        import pickle
        raise pickle.UnpicklingError(
            f'a checkpoint asks for getattr({obj!r}, {name!r}); '
            'mmdet_droploss allows only the methods of HistoryBuffer.')
    return getattr(obj, name)


def register_safe_globals() -> None:
    """Allow-list the globals of MMEngine's checkpoints (no-op on torch
    < 2.4, which has no allow-list and loads them anyway)."""
    add = getattr(torch.serialization, 'add_safe_globals', None)
    if add is None:
        return
    # how numpy pickles an array and a scalar; numpy 2 names the module
    # numpy._core, numpy 1 numpy.core: a checkpoint of the torch 2.1 stack
    # loads on the newest
    reconstruct = np.zeros(0).__reduce__()[0]
    scalar = np.float64(0).__reduce__()[0]
    # an array's dtype is rebuilt as an instance of its class (numpy >= 1.25)
    dtypes = {type(np.dtype(c)) for c in
              '?' + np.typecodes['AllInteger'] + np.typecodes['AllFloat']}
    add([
        HistoryBuffer, np.ndarray, np.dtype, *dtypes,
        (history_buffer_method, 'builtins.getattr'),
        *[(fn, f'{module}.multiarray.{fn.__name__}')
          for fn in (reconstruct, scalar)
          for module in ('numpy.core', 'numpy._core')]
    ])
