"""Pooling layers with ``torch.nn``'s constructor signatures and reprs, forward and backward.

Calling a layer runs its forward pass; ``layer.backward(grad_output)`` returns the gradient
with respect to the input of the most recent call. Layers hold no parameters. Each is
defined beside its family in ``poolnd._nn`` and re-exported here.
"""

from __future__ import annotations

from ._nn.adaptive import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveAvgPool3d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    AdaptiveMaxPool3d,
)
from ._nn.blur import BlurPool1d, BlurPool2d, MaxBlurPool1d, MaxBlurPool2d
from ._nn.fractional import FractionalMaxPool2d, FractionalMaxPool3d
from ._nn.lp import LPPool1d, LPPool2d, LPPool3d
from ._nn.module import Module
from ._nn.pooling import AvgPool1d, AvgPool2d, AvgPool3d, MaxPool1d, MaxPool2d, MaxPool3d
from ._nn.unpool import MaxUnpool1d, MaxUnpool2d, MaxUnpool3d

__all__ = [
    "AdaptiveAvgPool1d",
    "AdaptiveAvgPool2d",
    "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d",
    "AdaptiveMaxPool2d",
    "AdaptiveMaxPool3d",
    "AvgPool1d",
    "AvgPool2d",
    "AvgPool3d",
    "BlurPool1d",
    "BlurPool2d",
    "FractionalMaxPool2d",
    "FractionalMaxPool3d",
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxBlurPool1d",
    "MaxBlurPool2d",
    "MaxPool1d",
    "MaxPool2d",
    "MaxPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
    "Module",
]


def __dir__() -> list[str]:
    """The public names only (``__all__``), so tab completion shows no helper or import."""
    return sorted(__all__)
