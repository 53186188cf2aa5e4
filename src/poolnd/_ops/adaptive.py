"""Adaptive pooling: windows that split each spatial dimension evenly.

Adaptive output ``i`` of ``O`` over an input of length ``L`` reads cells
``floor(i * L / O) .. ceil((i + 1) * L / O) - 1`` (`poolnd._geometry.adaptive_window`), so the
windows have uneven sizes, may overlap, and repeat cells when ``O > L``. They are not of the
form ``o * stride - pad``, so these ops run on the table-driven reduction
(`poolnd._kernels.tables`). Global pooling (`poolnd._ops.global_pool`) is adaptive pooling
to size 1 over every trailing spatial axis.

Every public function here is registered with `poolnd.vjp`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable, selection_result
from .._docs import CHANNELS_LAST, INPUT_SHAPE_ERROR, INPUT_TYPE_ERROR, RAISES, fill
from .._geometry import adaptive_table
from .._kernels import tables as tk
from .._typing import AdaptiveMax, same_array, typed_as
from .bfloat16 import narrow, widen
from .layout import by_transpose

__all__ = [
    "adaptive_avg_impl",
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_avg_pool3d",
    "adaptive_max_impl",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "adaptive_max_pool3d",
]

Pullback = Callable[[Any], np.ndarray]


# --------------------------------------------------------------------------------------------
# arguments


def require_float(op: str, dtype: np.dtype, bfloat16: bool = False) -> None:
    """Refuse a non-floating input dtype (bfloat16 is floating where ``bfloat16``)."""
    if dtype.kind != "f" and not (bfloat16 and _args.is_bfloat16(dtype)):
        also = ", float64 or bfloat16" if bfloat16 else " or float64"
        raise TypeError(
            f"{op}(): input dtype must be float16, float32{also} (averages and norms of "
            f"integers are not defined here); got {dtype}"
        )


def _output_size(
    op: str, output_size: Any, in_shape: tuple[int, ...], allow_none: bool
) -> tuple[int, ...]:
    """``output_size`` (an int, or one entry per spatial dim; None = that input size)."""
    nd = len(in_shape)
    spelled = "ints or Nones" if allow_none else "ints"
    if isinstance(output_size, np.ndarray) and output_size.ndim == 1:
        output_size = output_size.tolist()
    if isinstance(output_size, Sequence) and not isinstance(output_size, (str, bytes)):
        items = list(output_size)
        if len(items) != nd:
            raise ValueError(
                f"{op}(): output_size must be an int or a tuple of {nd} {spelled} for {nd} "
                f"spatial dimension(s); got {output_size!r} of length {len(items)}"
            )
    elif output_size is None:
        raise TypeError(
            f"{op}(): output_size must be an int or a tuple of {nd} {spelled}; got None"
        )
    else:
        items = [output_size] * nd
    sizes = []
    for value, length in zip(items, in_shape):
        if value is None:
            if not allow_none:
                raise TypeError(
                    f"{op}(): output_size must contain ints (None, for the input size, is "
                    f"accepted by the 2d and 3d ops only); got {output_size!r}"
                )
            sizes.append(length)
            continue
        size = _args._as_int(op, "output_size", value, output_size)
        if size < 0:
            raise ValueError(f"{op}(): output_size must be non-negative; got {output_size!r}")
        if size > _args.GEOMETRY_LIMIT // length:
            raise ValueError(
                f"{op}(): output_size times the input size must be at most 2**60 in every "
                f"spatial dimension (window bounds i * input size / output_size are computed "
                f"in int64); got output_size={output_size!r} for input size {in_shape}"
            )
        sizes.append(size)
    return tuple(sizes)


def adaptive_tables(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[tk.Table]:
    return [tk.Table.shared(*adaptive_table(n, o), n) for n, o in zip(in_shape, out_shape)]


def accumulator(dtype: np.dtype) -> np.dtype:
    """Accumulator of a float average: float64 for float64, float32 otherwise (bfloat16
    included)."""
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


# --------------------------------------------------------------------------------------------
# adaptive pooling


@by_transpose("input")
def adaptive_max_impl(
    input: Any,
    output_size: Any,
    return_indices: Any = False,
    *,
    op: str,
    ndim: int,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Adaptive max pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``.

    bfloat16 is selected in float32 (exact); its pullback adds in bfloat16, as PyTorch's.
    """
    x, batched = _args.as_batched(op, input, ndim, bfloat16=True)
    want_indices = _args.as_bool(op, "return_indices", return_indices)
    in_shape = x.shape[2:]
    size = _output_size(op, output_size, in_shape, allow_none=ndim > 1)
    if grad:
        _args.require_differentiable(op, x.dtype)
    values, indices = tk.max_forward(widen(x), adaptive_tables(in_shape, size),
                                     want_indices or grad)
    return selection_result(
        op, narrow(values, x.dtype), indices, batched, want_indices, grad,
        lambda g, idx: tk.max_backward(g, idx, in_shape),
    )


@by_transpose("input")
def adaptive_avg_impl(
    input: Any, output_size: Any, *, op: str, ndim: int, grad: bool
) -> tuple[Any, Pullback | None]:
    """Adaptive average pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``.

    Sums accumulate in float32 (float64 for float64), except float16 and bfloat16 in 3d,
    which PyTorch accumulates (and divides) in the input dtype, each step rounded; each sum
    is divided by the window's extent in each dimension in turn. All output sizes 1 is
    ``torch.mean``: one division by the plane size. bfloat16 in 1d and 2d sums and divides
    in float32 and rounds once; its pullback divides and adds in bfloat16 (each step
    rounded), as PyTorch's.
    """
    x, batched = _args.as_batched(op, input, ndim, bfloat16=True)
    in_shape = x.shape[2:]
    size = _output_size(op, output_size, in_shape, allow_none=ndim > 1)
    require_float(op, x.dtype, bfloat16=True)
    if all(o == 1 for o in size):
        acc = accumulator(x.dtype)
        mean = narrow(tk.mean_forward(widen(x), ndim, acc), x.dtype)
        out = _args.unbatch(mean.reshape(x.shape[:2] + size), batched)

        def mean_pullback(grad_output: Any) -> np.ndarray:
            g = _args.pullback_grad(op, grad_output, out, batched)
            return _args.unbatch(tk.mean_backward(g.reshape(g.shape[:2]), in_shape, acc), batched)

        return out, (mean_pullback if grad else None)
    tables = adaptive_tables(in_shape, size)
    if ndim == 3 and (x.dtype == np.float16 or _args.is_bfloat16(x.dtype)):
        out = tk.avg_forward(x, tables, x.dtype)  # PyTorch's 3d kernel sums in the dtype
    else:
        out = narrow(tk.avg_forward(widen(x), tables, accumulator(x.dtype)), x.dtype)
    out = _args.unbatch(out, batched)

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, batched)
        return _args.unbatch(tk.avg_backward(g, tables), batched)

    return out, (pullback if grad else None)


# The per-rank public forms are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@typed_as(AdaptiveMax)
@differentiable(adaptive_max_impl, ndim=1)
def adaptive_max_pool1d(
    input: Any, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
) -> Any:
    """1D adaptive max pooling of ``(N, C, L)`` or ``(C, L)``, as torch's ``adaptive_max_pool1d``.

    Output ``i`` of ``O`` is the maximum of cells ``floor(i * L / O)`` to
    ``ceil((i + 1) * L / O) - 1``, scanned in order: a cell replaces the running maximum when
    it is greater or NaN, so the first maximum wins ties and NaN propagates.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
    >>> adaptive_max_pool1d(x, 3)
    array([[2., 3., 3.]])
    >>> adaptive_max_pool1d(x, 3, return_indices=True)[1]
    array([[1, 5, 5]])
    """
    return adaptive_max_impl(
        input, output_size, return_indices,
        channels_last=channels_last, op="adaptive_max_pool1d", ndim=1, grad=False,
    )[0]


@typed_as(AdaptiveMax)
@differentiable(adaptive_max_impl, ndim=2)
def adaptive_max_pool2d(
    input: Any, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
) -> Any:
    """2D adaptive max pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's
    ``adaptive_max_pool2d``.

    Windows per dimension as in `adaptive_max_pool1d`, scanned in row-major order; indices
    are flat positions ``h * W + w`` within each plane.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(20.).reshape(1, 4, 5)
    >>> adaptive_max_pool2d(x, 2)
    array([[[ 7.,  9.],
            [17., 19.]]])
    >>> adaptive_max_pool2d(x, (None, 1)).shape
    (1, 4, 1)
    """
    return adaptive_max_impl(
        input, output_size, return_indices,
        channels_last=channels_last, op="adaptive_max_pool2d", ndim=2, grad=False,
    )[0]


@typed_as(AdaptiveMax)
@differentiable(adaptive_max_impl, ndim=3)
def adaptive_max_pool3d(
    input: Any, output_size: Any, return_indices: bool = False, *, channels_last: bool = False
) -> Any:
    """3D adaptive max pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's
    ``adaptive_max_pool3d``.

    Windows per dimension as in `adaptive_max_pool1d`, scanned in row-major order; indices
    are flat positions ``d * H * W + h * W + w`` within each plane.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> adaptive_max_pool3d(np.arange(27.).reshape(1, 3, 3, 3), (1, 1, 2))
    array([[[[25., 26.]]]])
    """
    return adaptive_max_impl(
        input, output_size, return_indices,
        channels_last=channels_last, op="adaptive_max_pool3d", ndim=3, grad=False,
    )[0]


@same_array
@differentiable(adaptive_avg_impl, ndim=1)
def adaptive_avg_pool1d(input: Any, output_size: Any, *, channels_last: bool = False) -> np.ndarray:
    """1D adaptive average pooling of ``(N, C, L)`` or ``(C, L)``, as torch's
    ``adaptive_avg_pool1d``.

    Each window (as in `adaptive_max_pool1d`) is summed in order in float32 (float64 for
    float64 input) and divided by its size. ``output_size=1`` is the mean of the row, as
    PyTorch computes it with ``torch.mean`` (equal within float rounding).
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool1d(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), 3)
    array([[0.66666667, 1.        , 0.33333333]])
    """
    return adaptive_avg_impl(
        input, output_size, channels_last=channels_last, op="adaptive_avg_pool1d", ndim=1,
        grad=False,
    )[0]


@same_array
@differentiable(adaptive_avg_impl, ndim=2)
def adaptive_avg_pool2d(input: Any, output_size: Any, *, channels_last: bool = False) -> np.ndarray:
    """2D adaptive average pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's
    ``adaptive_avg_pool2d``.

    Window sums run in row-major order in float32 (float64 for float64 input), then divide
    by the window's height and then its width (``sum / kh / kw``, two roundings, as PyTorch).
    Output size ``(1, 1)`` is the plane's mean, as PyTorch computes it with ``torch.mean``
    (equal within float rounding).
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool2d(np.arange(16.).reshape(1, 4, 4), 2)
    array([[[ 2.5,  4.5],
            [10.5, 12.5]]])
    >>> adaptive_avg_pool2d(np.arange(6.).reshape(1, 2, 3), (None, 2))
    array([[[0.5, 1.5],
            [3.5, 4.5]]])
    """
    return adaptive_avg_impl(
        input, output_size, channels_last=channels_last, op="adaptive_avg_pool2d", ndim=2,
        grad=False,
    )[0]


@same_array
@differentiable(adaptive_avg_impl, ndim=3)
def adaptive_avg_pool3d(input: Any, output_size: Any, *, channels_last: bool = False) -> np.ndarray:
    """3D adaptive average pooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's
    ``adaptive_avg_pool3d``.

    As `adaptive_avg_pool2d`, dividing by depth, height and width in turn. float16 and
    bfloat16 input accumulate and divide in their own dtype here, as PyTorch's 3d kernel does.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> adaptive_avg_pool3d(np.arange(8.).reshape(1, 2, 2, 2), (1, 1, 2))
    array([[[[3., 4.]]]])
    """
    return adaptive_avg_impl(
        input, output_size, channels_last=channels_last, op="adaptive_avg_pool3d", ndim=3,
        grad=False,
    )[0]


_SIZES = {
    1: ("L", "one", "``O >= 0``; it may exceed ``L`` (cells then repeat)."),
    2: ("H, W", "two", "``(OH, OW)``, or one int for both, each ``>= 0``; a None entry keeps\n"
        "        that input size."),
    3: ("D, H, W", "three", "``(OD, OH, OW)``, or one int for all, each ``>= 0``; a None entry\n"
        "        keeps that input size."),
}

_PARAMETERS = """
    Parameters
    ----------
    input : array_like
        ``(N, C, {spatial})`` or unbatched ``(C, {spatial})``; {dtypes}, of any Array API
        library (the result is of the same library).
    output_size : {size_type}
        {size_text}{indices}
    """ + CHANNELS_LAST + """

    Returns
    -------
    {returns}
""" + RAISES

_INDICES = """
    return_indices : bool, default False
        Also return the int64 flat index of each maximum within its ``(n, c)`` plane."""

_MAX_RETURNS = """out : ndarray or tuple of ndarray
        The maxima, ``(N, C, {out})`` (unbatched ``(C, {out})``) in the input dtype; with
        ``return_indices``, ``(values, indices)``."""

_AVG_RETURNS = """ndarray
        The averages, ``(N, C, {out})`` (unbatched ``(C, {out})``) in the input dtype."""

_VALUE_ERROR = INPUT_SHAPE_ERROR + """; ``output_size`` has the wrong
        length, a negative entry, or one too large for int64 window bounds"""

for _n, _max, _avg in (
    (1, adaptive_max_pool1d, adaptive_avg_pool1d),
    (2, adaptive_max_pool2d, adaptive_avg_pool2d),
    (3, adaptive_max_pool3d, adaptive_avg_pool3d),
):
    _spatial, _count, _size_text = _SIZES[_n]
    _size_type = "int or tuple of one int" if _n == 1 else f"int or tuple of {_count} ints or Nones"
    for _fn, _indices, _returns, _dtypes in (
        (_max, _INDICES, _MAX_RETURNS, "float16/32/64, bfloat16 or any integer dtype"),
        (_avg, "", _AVG_RETURNS, "float16, float32, float64 or bfloat16"),
    ):
        fill(_fn, parameters=_PARAMETERS, indices=_indices, returns=_returns,
             type_error=INPUT_TYPE_ERROR, value_error=_VALUE_ERROR, size_type=_size_type,
             size_text=_size_text, dtypes=_dtypes, spatial=_spatial,
             out=", ".join(f"O{d}" for d in _spatial.split(", ")))
del _n, _max, _avg, _spatial, _count, _size_text, _size_type, _fn, _indices, _returns, _dtypes


# --------------------------------------------------------------------------------------------
# global pooling


