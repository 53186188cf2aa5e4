"""PyTorch's ``torch.nn.functional`` pooling functions, with the same signatures.

Each is defined beside its op family in ``poolnd._ops`` and re-exported here. All of them work
with `poolnd.vjp` and take any Array API array.
"""

from __future__ import annotations

from ._ops.adaptive import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
)
from ._ops.blur import blur_pool1d, blur_pool2d, max_blur_pool1d, max_blur_pool2d
from ._ops.fractional import fractional_max_pool2d, fractional_max_pool3d
from ._ops.lp import lp_pool1d, lp_pool2d, lp_pool3d
from ._ops.pooling import (
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from ._ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
    "avg_pool1d",
    "avg_pool2d",
    "avg_pool3d",
    "blur_pool1d",
    "blur_pool2d",
    "fractional_max_pool2d",
    "fractional_max_pool3d",
    "lp_pool1d",
    "lp_pool2d",
    "lp_pool3d",
    "max_blur_pool1d",
    "max_blur_pool2d",
    "max_pool1d",
    "max_pool2d",
    "max_pool3d",
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
]


def __dir__() -> list[str]:
    """The public names only (``__all__``), so tab completion shows no helper or import."""
    return sorted(__all__)
