"""Layers for LP pooling and max unpooling, with ``torch.nn``'s constructors and reprs.

`poolnd.nn` re-exports them; they subclass `poolnd._nn.module.Module`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._autodiff import vjp
from .._ops.lp import lp_pool1d, lp_pool2d, lp_pool3d
from .._ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d
from .module import Module, _ntuple

__all__ = [
    "LPPool1d",
    "LPPool2d",
    "LPPool3d",
    "MaxUnpool1d",
    "MaxUnpool2d",
    "MaxUnpool3d",
]


class _LPPoolNd(Module):
    _fn_args = ("norm_type", "kernel_size", "stride", "ceil_mode")
    _repr_args = ("norm_type", "kernel_size", "stride", "ceil_mode")

    def __init__(
        self, norm_type: float, kernel_size: Any, stride: Any = None, ceil_mode: bool = False,
        *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        self.norm_type = norm_type
        self.kernel_size = kernel_size
        self.stride = stride
        self.ceil_mode = ceil_mode


class LPPool1d(_LPPoolNd):
    """1D power-average pooling layer, as ``torch.nn.LPPool1d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd._nn.lp_unpool import LPPool1d
    >>> pool = LPPool1d(2, 2)
    >>> pool
    LPPool1d(norm_type=2, kernel_size=2, stride=None, ceil_mode=False)
    >>> pool(np.array([[3., 4., 0., 0.]]))
    array([[5., 0.]])
    >>> pool.backward(np.array([[1., 1.]]))
    array([[0.6, 0.8, 0. , 0. ]])
    """

    _fn = staticmethod(lp_pool1d)


class LPPool2d(_LPPoolNd):
    """2D power-average pooling layer, as ``torch.nn.LPPool2d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd._nn.lp_unpool import LPPool2d
    >>> pool = LPPool2d(2.0, 2)
    >>> pool
    LPPool2d(norm_type=2.0, kernel_size=2, stride=None, ceil_mode=False)
    >>> pool(np.array([[[1., 2.], [2., 4.]]]))
    array([[[5.]]])
    """

    _fn = staticmethod(lp_pool2d)


class LPPool3d(_LPPoolNd):
    """3D power-average pooling layer, as ``torch.nn.LPPool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd._nn.lp_unpool import LPPool3d
    >>> LPPool3d(float("inf"), 2)(np.arange(-8., 0.).reshape(1, 2, 2, 2))
    array([[[[8.]]]])
    """

    _fn = staticmethod(lp_pool3d)




class _MaxUnpoolNd(Module):
    """Base of the unpooling layers: forward takes ``(input, indices, output_size=None)``."""

    _nd: int
    _repr_args = ("kernel_size", "stride", "padding")

    def __init__(
        self, kernel_size: Any, stride: Any = None, padding: Any = 0, *,
        channels_last: bool = False,
    ) -> None:
        super().__init__(channels_last)
        self.kernel_size = _ntuple(kernel_size, self._nd)
        self.stride = _ntuple(stride if stride is not None else kernel_size, self._nd)
        self.padding = _ntuple(padding, self._nd)

    def forward(self, input: Any, indices: Any, output_size: Any = None) -> np.ndarray:
        """Unpool ``input`` to the positions ``indices`` name; keep the input's pullback.

        Parameters
        ----------
        input, indices : array_like
            Max pooling's values and its ``return_indices``.
        output_size : sequence of int, optional
            The spatial output size (or ``N, C`` and the spatial size), as in the functional
            form.

        Returns
        -------
        ndarray
            The unpooled array; ``backward(grad)`` then returns the gradient with respect to
            ``input``.
        """
        fn = type(self)._fn
        args = (indices, self.kernel_size, self.stride, self.padding, output_size)
        if np.asarray(input).dtype.kind != "f":
            self._pullback = None
            self._no_grad_reason = (
                "backward(): the last forward input was not floating point, so it has no "
                "gradient"
            )
            return fn(input, *args, **self._layout())
        out, self._pullback = vjp(fn, input, *args, **self._layout())
        return out

    __call__ = forward


class MaxUnpool1d(_MaxUnpoolNd):
    """1D max unpooling layer, as ``torch.nn.MaxUnpool1d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd._nn.lp_unpool import MaxUnpool1d
    >>> unpool = MaxUnpool1d(2)
    >>> unpool
    MaxUnpool1d(kernel_size=(2,), stride=(2,), padding=(0,))
    >>> unpool(np.array([[2., 3.]]), np.array([[1, 2]]))
    array([[0., 2., 3., 0.]])
    >>> unpool.backward(np.array([[1., 2., 3., 4.]]))
    array([[2., 3.]])
    """

    _nd = 1
    _fn = staticmethod(max_unpool1d)


class MaxUnpool2d(_MaxUnpoolNd):
    """2D max unpooling layer, as ``torch.nn.MaxUnpool2d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd._nn.lp_unpool import MaxUnpool2d
    >>> MaxUnpool2d(2)
    MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))
    >>> MaxUnpool2d(2)(np.array([[[5.]]]), np.array([[[2]]]))
    array([[[0., 0.],
            [5., 0.]]])
    """

    _nd = 2
    _fn = staticmethod(max_unpool2d)


class MaxUnpool3d(_MaxUnpoolNd):
    """3D max unpooling layer, as ``torch.nn.MaxUnpool3d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd._nn.lp_unpool import MaxUnpool3d
    >>> MaxUnpool3d(2, stride=1)
    MaxUnpool3d(kernel_size=(2, 2, 2), stride=(1, 1, 1), padding=(0, 0, 0))
    >>> MaxUnpool3d(2)(np.array([[[[5.]]]]), np.array([[[[7]]]]))[0, 1]
    array([[0., 0.],
           [0., 5.]])
    """

    _nd = 3
    _fn = staticmethod(max_unpool3d)
