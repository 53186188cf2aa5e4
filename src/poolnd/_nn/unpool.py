"""Max unpooling layers, as ``torch.nn.MaxUnpool1d`` ... ``MaxUnpool3d``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._ops.unpool import max_unpool1d, max_unpool2d, max_unpool3d
from .module import Module, _ntuple


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

    # unpooling takes the indices too: the one layer whose forward is not Module's
    def forward(  # type: ignore[override]
        self, input: Any, indices: Any, output_size: Any = None
    ) -> np.ndarray:
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
        return self._run(input, indices, self.kernel_size, self.stride, self.padding,
                         output_size)

    __call__ = forward  # type: ignore[assignment]


# The per-rank layers are written out one by one, so that each keeps torch.nn's exact
# constructor signature and its own docstring: repetition on purpose (docs/design.md).
class MaxUnpool1d(_MaxUnpoolNd):
    """1D max unpooling layer, as ``torch.nn.MaxUnpool1d``.

    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.nn import MaxUnpool1d
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
    >>> from poolnd.nn import MaxUnpool2d
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
    >>> from poolnd.nn import MaxUnpool3d
    >>> MaxUnpool3d(2, stride=1)
    MaxUnpool3d(kernel_size=(2, 2, 2), stride=(1, 1, 1), padding=(0, 0, 0))
    >>> MaxUnpool3d(2)(np.array([[[[5.]]]]), np.array([[[[7]]]]))[0, 1]
    array([[0., 0.],
           [0., 5.]])
    """

    _nd = 3
    _fn = staticmethod(max_unpool3d)
