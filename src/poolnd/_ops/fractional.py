"""Fractional max pooling (Graham, 2014): windows at pseudo-random, increasing offsets.

Per ``(n, c)`` plane and spatial dimension, one sample ``u`` fixes where the ``O`` windows of
size ``K`` start over an input of length ``L``: ``int((i + u) * alpha) - int(u * alpha)`` with
``alpha = (L - K) / (O - 1)``, the last at ``L - K`` (`poolnd._geometry.fractional_starts`),
computed in the input's float dtype exactly as PyTorch does. The windows differ between
planes, so the op runs on the table-driven reduction with per-plane tables.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import _args
from .._autodiff import differentiable, selection_result
from .._docs import CHANNELS_LAST, INPUT_SHAPE_ERROR, INPUT_TYPE_ERROR, RAISES, fill
from .._geometry import fractional_starts
from .._kernels import tables as tk
from .._typing import FractionalMax, typed_as
from .bfloat16 import narrow, widen
from .layout import by_transpose

__all__ = ["fractional_max_impl", "fractional_max_pool2d", "fractional_max_pool3d"]

Pullback = Callable[[Any], np.ndarray]

# which column of _random_samples drives each spatial dim (PyTorch: 2d W then H; 3d T, H, W)
_SAMPLE_COLUMN = {2: (1, 0), 3: (0, 1, 2)}
_DIM_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


def _ratios(op: str, value: Any, nd: int) -> tuple[float, ...]:
    items = (
        list(value)
        if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, (str, bytes))
        else [value]
    )
    spread = _args.one_per_dimension(items, nd)
    if spread is None:
        raise ValueError(
            f"{op}(): output_ratio must be a number or a tuple of {nd} numbers; "
            f"got {value!r} of length {len(items)}"
        )
    for r in spread:
        if isinstance(r, (bool, np.bool_)) or not isinstance(r, numbers.Real):
            raise TypeError(f"{op}(): output_ratio must contain real numbers; got {value!r}")
        if not math.isfinite(r):
            raise ValueError(f"{op}(): output_ratio must be finite; got {value!r}")
    return tuple(float(r) for r in spread)


def _samples(
    op: str, samples: Any, rng: Any, x: np.ndarray, batch: int, nd: int
) -> np.ndarray:
    """``_random_samples`` checked against the input (or drawn), as ``(N * C, nd)``."""
    channels = x.shape[1]
    if samples is None:
        if rng is None:
            rng = np.random.default_rng()
        elif not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"{op}(): rng must be a numpy.random.Generator or None; got {type(rng).__name__}"
            )
        draw_dtype = np.float64 if x.dtype == np.float64 else np.float32
        u = rng.random((batch, channels, nd), dtype=draw_dtype).astype(x.dtype)
    else:
        u = np.asarray(samples)
        if u.dtype.newbyteorder("=") != x.dtype:
            raise TypeError(
                f"{op}(): _random_samples must have the input's dtype {x.dtype}; got {u.dtype}"
            )
        if u.ndim != 3:
            raise ValueError(
                f"{op}(): _random_samples must have 3 dims (N, C, {nd}); got shape {u.shape}"
            )
        if u.shape[0] < batch or u.shape[1] != channels or u.shape[2] != nd:
            raise ValueError(
                f"{op}(): _random_samples must have shape (N, C, {nd}) with N at least the "
                f"batch size {batch} and C = {channels} channels; got shape {u.shape}"
            )
        u = u[:batch].astype(x.dtype)
    return u.reshape(batch * channels, nd)


@by_transpose("input")
def fractional_max_impl(
    input: Any,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: Any = False,
    _random_samples: Any = None,
    *,
    rng: Any = None,
    op: str,
    ndim: int,
    grad: bool,
) -> tuple[Any, Pullback | None]:
    """Fractional max pooling; returns ``(out, pullback)``, ``pullback`` None unless ``grad``.

    bfloat16 windows are placed in bfloat16 arithmetic and the maxima selected in float32
    (exact); the pullback adds in bfloat16, as PyTorch's.
    """
    nd = ndim
    x, batched = _args.as_batched(op, input, nd, bfloat16=True)
    if x.dtype.kind != "f" and not _args.is_bfloat16(x.dtype):
        raise TypeError(
            f"{op}(): input dtype must be float16, float32, float64 or bfloat16 (the random "
            f"samples share it); got {x.dtype}"
        )
    kernel = _args.as_int_tuple(op, "kernel_size", kernel_size, nd)
    if min(kernel) < 1:
        raise ValueError(f"{op}(): kernel_size must be positive; got {kernel}")
    want_indices = _args.as_bool(op, "return_indices", return_indices)
    in_shape = x.shape[2:]
    if output_size is not None:
        size = _args.as_int_tuple(op, "output_size", output_size, nd)
        given = f"output_size={output_size!r}"
    elif output_ratio is not None:
        size = tuple(int(n * r) for n, r in zip(in_shape, _ratios(op, output_ratio, nd)))
        given = f"output_ratio={output_ratio!r}, which gives output size {size}"
    else:
        raise ValueError(
            f"{op}(): one of output_size and output_ratio must be given; got both None"
        )
    if min(size) < 0:
        raise ValueError(f"{op}(): output size must be non-negative; got {given}")
    strict = nd == 3  # PyTorch's 3d check is strict: output + kernel - 1 < input
    for name, o, k, n in zip(_DIM_NAMES[nd], size, kernel, in_shape):
        if o + k - 1 > n or (strict and o + k - 1 == n):
            rule = "less than" if strict else "at most"
            raise ValueError(
                f"{op}(): output size + kernel_size - 1 must be {rule} the input size in "
                f"every dimension (pool {name} {k} too large relative to input {name} {n}); "
                f"got {given}, kernel_size={kernel} and input size {in_shape}"
            )
    if grad:
        _args.require_differentiable(op, x.dtype)
    u = _samples(op, _random_samples, rng, x, x.shape[0], nd)
    tables = []
    for column, n, o, k in zip(_SAMPLE_COLUMN[nd], in_shape, size, kernel):
        starts = fractional_starts(u[:, column], n, o, k)
        if starts.size and (starts.min() < 0 or starts.max() > n - k):
            raise ValueError(
                f"{op}(): _random_samples put a window outside the input (samples far outside "
                f"[0, 1)); got samples in [{u.min()}, {u.max()}]"
            )
        tables.append(tk.Table(starts, np.full(starts.shape, k, dtype=np.int64), n))
    values, indices = tk.max_forward(widen(x), tables, want_indices or grad)
    return selection_result(
        op, narrow(values, x.dtype), indices, batched, want_indices, grad,
        lambda g, idx: tk.max_backward(g, idx, in_shape),
    )


# The per-rank public forms are written out one by one, so that each keeps PyTorch's exact
# signature and its own docstring (help(), inspect, the API pages): repetition on purpose
# (docs/design.md, "Repetition kept on purpose").
@typed_as(FractionalMax)
@differentiable(fractional_max_impl, ndim=2, samples=_samples)
def fractional_max_pool2d(
    input: Any,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
    *,
    rng: np.random.Generator | None = None,
    channels_last: bool = False,
) -> Any:
    """2D fractional max pooling of ``(N, C, H, W)`` or ``(C, H, W)``, as torch's
    ``fractional_max_pool2d``.

    Each plane's ``kH x kW`` windows start at pseudo-random increasing offsets fixed by its two
    samples in ``_random_samples`` (``[..., 0]`` for the width, ``[..., 1]`` for the height),
    computed in the input dtype as PyTorch does, so equal samples give PyTorch's values and
    indices bit for bit. Within a window the first maximum wins and NaN propagates.

{parameters}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(25.).reshape(1, 5, 5)
    >>> u = np.array([[[0.5, 0.5]]])
    >>> fractional_max_pool2d(x, 2, output_size=3, _random_samples=u)
    array([[[ 6.,  8.,  9.],
            [16., 18., 19.],
            [21., 23., 24.]]])
    >>> out = fractional_max_pool2d(x, 2, output_ratio=0.5, rng=np.random.default_rng(0))
    >>> out.shape
    (1, 2, 2)
    """
    return fractional_max_impl(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples,
        rng=rng, channels_last=channels_last, op="fractional_max_pool2d", ndim=2, grad=False,
    )[0]


@typed_as(FractionalMax)
@differentiable(fractional_max_impl, ndim=3, samples=_samples)
def fractional_max_pool3d(
    input: Any,
    kernel_size: Any,
    output_size: Any = None,
    output_ratio: Any = None,
    return_indices: bool = False,
    _random_samples: Any = None,
    *,
    rng: np.random.Generator | None = None,
    channels_last: bool = False,
) -> Any:
    """3D fractional max pooling of ``(N, C, T, H, W)`` or ``(C, T, H, W)``, as torch's
    ``fractional_max_pool3d``.

    As `fractional_max_pool2d` with samples ``[..., 0]`` for time, ``[..., 1]`` for height and
    ``[..., 2]`` for width, and PyTorch's strict size rule ``oT + kT - 1 < T`` (likewise H
    and W). Indices are ``t * H * W + h * W + w``.
    {parameters}
    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(64.).reshape(1, 4, 4, 4)
    >>> u = np.full((1, 1, 3), 0.25)
    >>> fractional_max_pool3d(x, 2, output_size=2, _random_samples=u, return_indices=True)[1]
    array([[[[21, 23],
             [29, 31]],
    <BLANKLINE>
            [[53, 55],
             [61, 63]]]])
    """
    return fractional_max_impl(
        input, kernel_size, output_size, output_ratio, return_indices, _random_samples,
        rng=rng, channels_last=channels_last, op="fractional_max_pool3d", ndim=3, grad=False,
    )[0]


_PARAMETERS = """
    Parameters
    ----------
    input : array_like
        ``(N, C, {spatial})`` or unbatched ``(C, {spatial})``; float16, float32, float64 or
        bfloat16, of any Array API library (the result is of the same library).
    kernel_size : int or tuple of {n} ints
        Positive window size ``({kernel})``.
    output_size : int or tuple of {n} ints, optional
        ``({out})``; {size_rule}.
    output_ratio : float or tuple of {n} floats, optional
        Output size ``int(size * ratio)`` per dimension, each ratio in ``(0, 1)``, used when
        ``output_size`` is None (one of the two must be given).
    return_indices : bool, default False
        Also return the int64 flat index ``{index}`` of each maximum within its plane.
    _random_samples : ndarray, optional
        ``(N', C, {n_samples})`` samples in ``[0, 1)`` in the input dtype, ``N' >= N`` (1 for
        unbatched input), as torch's argument of that name.
    rng : numpy.random.Generator, optional
        Draws the samples, ``rng.random((N or 1, C, {n_samples}))`` in the input dtype
        (float32 for float16, then rounded), when ``_random_samples`` is None; default a fresh
        generator.
    """ + CHANNELS_LAST + """

    Returns
    -------
    out : ndarray or tuple of ndarray
        The maxima, ``(N, C, {out})`` (unbatched ``(C, {out})``) in the input dtype; with
        ``return_indices``, ``(values, indices)``.
""" + RAISES

_VALUE_ERROR = INPUT_SHAPE_ERROR + """; neither or a bad
        ``output_size`` / ``output_ratio`` (wrong length, a window past the input); a
        ``kernel_size`` that is not positive; ``_random_samples`` of the wrong shape"""

for _fn, _n, _spatial, _index, _rule in (
    (fractional_max_pool2d, 2, "H, W", "h * W + w",
     "``oH + kH - 1 <= H`` and ``oW + kW - 1 <= W``"),
    (fractional_max_pool3d, 3, "T, H, W", "t * H * W + h * W + w",
     "``oT + kT - 1 < T``, likewise ``H`` and ``W`` (PyTorch's strict rule)"),
):
    _dims = _spatial.split(", ")
    fill(_fn, parameters=_PARAMETERS, type_error=INPUT_TYPE_ERROR, value_error=_VALUE_ERROR,
         size_rule=_rule, spatial=_spatial, n=("two", "three")[_n - 2], n_samples=str(_n),
         kernel=", ".join(f"k{d}" for d in _dims), out=", ".join(f"o{d}" for d in _dims),
         index=_index)
del _fn, _n, _spatial, _index, _rule, _dims
