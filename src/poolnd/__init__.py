"""poolnd: PyTorch-exact N-dimensional pooling for NumPy, forward and backward.

>>> import numpy as np, poolnd
>>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
>>> poolnd.functional.max_pool1d(x, 2)
array([[2., 0., 3., 0.]])
>>> poolnd.functional.avg_pool1d(x, 2)
array([[ 1.5, -0.5,  2.5, -1. ]])
"""

from __future__ import annotations

from . import functional, invariance, nn, onnx
from ._autodiff import vjp
from ._geometry import pooled_length
from ._ops.global_pool import global_avg_pool, global_lp_pool, global_max_pool
from ._ops.pooling import avg_pool, max_pool
from ._ops.reduce import min_pool, pool, sum_pool
from ._threads import get_compile_mode, get_num_threads, set_compile_mode, set_num_threads

__all__ = [
    "avg_pool",
    "functional",
    "get_compile_mode",
    "get_num_threads",
    "global_avg_pool",
    "global_lp_pool",
    "global_max_pool",
    "invariance",
    "max_pool",
    "min_pool",
    "nn",
    "onnx",
    "pool",
    "pooled_length",
    "set_compile_mode",
    "set_num_threads",
    "sum_pool",
    "vjp",
]


def _installed_version() -> str:
    """The installed distribution's version; ``0+unknown`` when poolnd runs uninstalled
    (from a source tree on ``PYTHONPATH``)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("poolnd")
    except PackageNotFoundError:
        return "0+unknown"


__version__: str = _installed_version()
"""The version of the installed distribution (``importlib.metadata``)."""


def __dir__() -> list[str]:
    """The public names (``__all__``) and ``__version__``: no helper or private module."""
    return sorted([*__all__, "__version__"])
