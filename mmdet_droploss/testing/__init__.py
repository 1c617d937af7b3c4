# Copyright (c) mmdet-droploss contributors. All rights reserved.
"""Synthetic data for the tests, the demo and the experiments, as
``mmdet.testing`` is for MMDetection's: ``import mmdet_droploss`` does not
load it; import its modules by name (``mmdet_droploss.testing.synthetic_lvis``,
``.lvis_like``, ``.lvis_scale``)."""
