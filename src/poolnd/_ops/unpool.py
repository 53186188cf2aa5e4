"""Max unpooling (``max_unpool1d/2d/3d``), the partial inverse of max pooling, with layers.

Each input value is written at the flat position its index names within its ``(n, c)``
output plane; everything else is zero. The gradient with respect to the input gathers the
output gradient at the same positions. Kernel size, stride and padding only fix the default
output size ``(in - 1) * stride - 2 * padding + kernel_size`` and the range an explicit
``output_size`` must lie in, as in PyTorch.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable
from .._docs import CHANNELS_LAST, INPUT_SHAPE_ERROR, INPUT_TYPE_ERROR, RAISES, fill
from .._kernels import unpool as kernels
from .._typing import same_array
from .layout import by_transpose

__all__ = [
    "max_unpool1d",
    "max_unpool2d",
    "max_unpool3d",
    "max_unpool_impl",
]

Pullback = Callable[[Any], np.ndarray]


def _window(
    op: str, kernel_size: Any, stride: Any, padding: Any, rank: int
) -> tuple[tuple[int, ...], tuple[int, ...], _args.Padding]:
    kernel = _args.as_int_tuple(op, "kernel_size", kernel_size, rank)
    strides = kernel if stride is None else _args.as_int_tuple(op, "stride", stride, rank)
    pads = _args.as_padding(op, padding, rank)
    for name, values, least in (("kernel_size", kernel, 1), ("stride", strides, 1)):
        if min(values) < least:
            raise ValueError(f"{op}(): {name} must be positive; got {name}={values}")
    if pads.kind == "torch" and min(pads.values) < 0:
        raise ValueError(f"{op}(): padding must be non-negative; got padding={pads.values}")
    return kernel, strides, pads


def _default_size(
    in_shape: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
    pads: _args.Padding,
) -> tuple[int, ...]:
    """The pooling's input size: ``(in - 1) * stride - lo - hi + kernel`` (``in * stride``
    for 'same' padding, whose pooling gave ``ceil(size / stride)`` outputs)."""
    if pads.kind in ("same", "same_lower"):
        return tuple(n * s for n, s in zip(in_shape, strides))
    pairs = pads.values if pads.kind == "pairs" else tuple((p, p) for p in pads.values)
    return tuple((n - 1) * s - lo - hi + k
                 for n, s, (lo, hi), k in zip(in_shape, strides, pairs, kernel))


def _as_indices(op: str, indices: Any, shape: tuple[int, ...]) -> np.ndarray:
    idx = _args.as_array(op, "indices", indices, "an int64 array")
    if idx.dtype.kind != "i" or idx.dtype.itemsize != 8:
        raise TypeError(
            f"{op}(): indices must be an int64 array (as max pooling's return_indices gives); "
            f"got dtype {idx.dtype}"
        )
    if idx.shape != shape:
        raise ValueError(
            f"{op}(): indices must have the input's shape {shape}; got shape {idx.shape}"
        )
    return idx


def _as_sizes(op: str, output_size: Any) -> tuple[int, ...]:
    if isinstance(output_size, np.ndarray) and output_size.ndim == 1:
        output_size = output_size.tolist()
    if not isinstance(output_size, Sequence) or isinstance(output_size, (str, bytes)):
        raise TypeError(
            f"{op}(): output_size must be None or a sequence of ints; got {output_size!r} "
            f"of type {type(output_size).__name__}"
        )
    sizes = []
    for v in output_size:
        if isinstance(v, (bool, np.bool_)):
            raise TypeError(
                f"{op}(): output_size must contain ints, not bools; got {output_size!r}"
            )
        try:
            sizes.append(operator.index(v))
        except TypeError:
            raise TypeError(
                f"{op}(): output_size must contain ints; got {output_size!r} (an element of "
                f"type {type(v).__name__})"
            ) from None
    return tuple(sizes)


def _output_shape(
    op: str,
    in_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    pads: _args.Padding,
    output_size: Any,
) -> tuple[int, ...]:
    """PyTorch's ``_unpool_output_size``: the default, or a checked explicit size."""
    rank = len(kernel)
    default = _default_size(in_shape, kernel, strides, pads)
    if output_size is None:
        sizes = default
    else:
        given = _as_sizes(op, output_size)
        sizes = given[2:] if len(given) == rank + 2 else given
        if len(sizes) != rank:
            raise ValueError(
                f"{op}(): output_size must have {rank} element(s) (spatial) or {rank + 2} "
                f"(N, C, spatial); got {output_size!r} of length {len(given)}"
            )
        for d, (size, dflt, s) in enumerate(zip(sizes, default, strides)):
            if not dflt - s < size < dflt + s:
                raise ValueError(
                    f"{op}(): output_size must lie strictly between default - stride and "
                    f"default + stride in every dimension, where default = (input - 1) * "
                    f"stride - padding (both sides) + kernel_size = {default}; dimension {d} "
                    f"must be "
                    f"between {dflt - s} and {dflt + s} (exclusive); got output_size="
                    f"{output_size!r}"
                )
    if min(sizes) < 0:
        raise ValueError(
            f"{op}(): output size must be non-negative in every spatial dimension; input size "
            f"{in_shape} with kernel_size={kernel}, stride={strides}, padding="
            f"{pads.values or pads.kind!r} gives output size {sizes}"
        )
    if math.prod(sizes) > _args.GEOMETRY_LIMIT:
        raise ValueError(
            f"{op}(): the output must have at most 2**60 cells per plane (indices are int64); "
            f"input size {in_shape} with kernel_size={kernel}, stride={strides}, padding="
            f"{pads.values or pads.kind!r} and output_size={output_size!r} gives output size "
            f"{tuple(sizes)}"
        )
    return tuple(sizes)


def _check_indices(
    op: str, flat: np.ndarray, shape: tuple[int, ...], out_shape: tuple[int, ...]
) -> None:
    """Every index must name a cell of its output plane.

    An empty output plane takes no writes, so its indices go unchecked, as in PyTorch.
    """
    plane_size = math.prod(out_shape)
    if flat.size == 0 or plane_size == 0:
        return
    bad = (flat < 0) | (flat >= plane_size)
    if bad.any():
        first = int(np.argmax(bad.reshape(-1)))
        where = tuple(int(i) for i in np.unravel_index(first, shape))
        raise ValueError(
            f"{op}(): indices must be flat positions in [0, {plane_size}) within an output "
            f"plane of size {'x'.join(map(str, out_shape))}; got index "
            f"{int(flat.reshape(-1)[first])} at position {where}"
        )


@by_transpose("input", "indices")
def max_unpool_impl(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    op: str,
    ndim: int | None,
    grad: bool,
) -> tuple[np.ndarray, Pullback | None]:
    """Max unpooling; returns ``(out, pullback)`` with ``pullback`` None unless ``grad``.

    The pullback returns the gradient with respect to ``input`` (indices have none).
    """
    rank = _args.spatial_rank(op, kernel_size, ndim)
    kernel, strides, pads = _window(op, kernel_size, stride, padding, rank)
    x = _args.as_input(op, input, rank, bfloat16=True)
    idx = _as_indices(op, indices, x.shape)
    if grad:
        _args.require_differentiable(op, x.dtype)
    in_shape, lead = x.shape[-rank:], x.shape[:-rank]
    out_shape = _output_shape(op, in_shape, kernel, strides, pads, output_size)
    planes, n_in, plane_size = math.prod(lead), math.prod(in_shape), math.prod(out_shape)
    flat_idx = np.ascontiguousarray(idx, dtype=np.int64).reshape(planes, n_in)
    _check_indices(op, flat_idx, idx.shape, out_shape)
    dtype = x.dtype.newbyteorder("=")
    if plane_size == 0:
        out = np.zeros(lead + out_shape, dtype=dtype)
    else:
        src = np.ascontiguousarray(x, dtype=dtype).reshape(planes, n_in)
        out = kernels.scatter(src, flat_idx, plane_size).reshape(lead + out_shape)
    if not grad:
        return out, None
    if np.may_share_memory(flat_idx, idx):
        flat_idx = flat_idx.copy()  # the pullback must not see later changes to the caller's

    def pullback(grad_output: Any) -> np.ndarray:
        g = _args.pullback_grad(op, grad_output, out, True)
        if plane_size == 0:  # an empty output does not depend on the input
            return np.zeros(x.shape, dtype=g.dtype)
        g = np.ascontiguousarray(g).reshape(planes, plane_size)
        return kernels.gather(g, flat_idx).reshape(x.shape)

    return out, pullback


_DOC_PARAMETERS = """
    Parameters
    ----------
    input : array_like
        ``(N, C, {spatial})`` or unbatched ``(C, {spatial})``: the values to place, such as
        max pooling's output; float16/32/64, bfloat16 or any integer dtype.
    indices : array_like of int64
        Shaped like ``input``: each value's flat position within its ``(n, c)`` output
        plane, such as max pooling's ``return_indices``.
    kernel_size : int or tuple of int
        The max pooling's kernel size.
    stride : int or tuple of int, optional
        The max pooling's stride; defaults to ``kernel_size``.
    padding : int, tuple of int, tuple of (lo, hi) pairs, or str, default 0
        The max pooling's padding (``'same'``: the default size is ``in * stride``).
    output_size : sequence of int, optional
        The spatial output size (a leading ``N, C`` is dropped when given): each strictly
        between ``default - stride`` and ``default + stride``. Defaults to
        ``(in - 1) * stride - lo - hi + kernel_size`` per dimension.
    """ + CHANNELS_LAST + """ ``indices`` likewise.

    Returns
    -------
    ndarray
        Zeros of the input dtype with each value written at its index; where indices
        repeat, the last value in raster order wins.
""" + RAISES

_VALUE_ERROR = INPUT_SHAPE_ERROR + """; ``indices`` is not shaped like
        ``input`` or holds a position outside the output plane; a size has the wrong length
        or is not positive; ``output_size`` is out of its range"""


# The per-rank public forms are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@same_array
@differentiable(max_unpool_impl, ndim=1)
def max_unpool1d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """1D max unpooling of ``(N, C, L)`` or ``(C, L)``, as torch's ``max_unpool1d``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.functional import max_unpool1d
    >>> max_unpool1d(np.array([[2., 0., 3., 0.]]), np.array([[1, 3, 5, 7]]), 2)
    array([[0., 2., 0., 0., 0., 3., 0., 0.]])
    >>> max_unpool1d(np.array([[2., 3.]]), np.array([[1, 3]]), 2, output_size=[5])
    array([[0., 2., 0., 3., 0.]])
    """
    return max_unpool_impl(
        input, indices, kernel_size, stride, padding, output_size,
        channels_last=channels_last, op="max_unpool1d", ndim=1, grad=False,
    )[0]


@same_array
@differentiable(max_unpool_impl, ndim=2)
def max_unpool2d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """2D max unpooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's ``max_unpool2d``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.functional import max_unpool2d
    >>> max_unpool2d(np.array([[[5., 7.]]]), np.array([[[5, 3]]]), 2)
    array([[[0., 0., 0., 7.],
            [0., 5., 0., 0.]]])
    """
    return max_unpool_impl(
        input, indices, kernel_size, stride, padding, output_size,
        channels_last=channels_last, op="max_unpool2d", ndim=2, grad=False,
    )[0]


@same_array
@differentiable(max_unpool_impl, ndim=3)
def max_unpool3d(
    input: Any,
    indices: Any,
    kernel_size: Any,
    stride: Any = None,
    padding: Any = 0,
    output_size: Any = None,
    *,
    channels_last: bool = False,
) -> np.ndarray:
    """3D max unpooling of ``(N, C, D, H, W)`` or ``(C, D, H, W)``, as torch's ``max_unpool3d``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> from poolnd.functional import max_unpool3d
    >>> max_unpool3d(np.array([[[[7.]]]]), np.array([[[[6]]]]), 2)[0, 1]
    array([[0., 0.],
           [7., 0.]])
    """
    return max_unpool_impl(
        input, indices, kernel_size, stride, padding, output_size,
        channels_last=channels_last, op="max_unpool3d", ndim=3, grad=False,
    )[0]


for _fn, _spatial in ((max_unpool1d, "L"), (max_unpool2d, "H, W"), (max_unpool3d, "D, H, W")):
    fill(_fn, parameters=_DOC_PARAMETERS, type_error=INPUT_TYPE_ERROR, value_error=_VALUE_ERROR,
         spatial=_spatial)
del _fn, _spatial
