"""Argument canonicalisation: every public op turns its arguments into a `Window` here, once.

Nothing past this module sees a raw user argument. Each check raises `TypeError` (wrong
kind of value) or `ValueError` (right kind, wrong value) with a message that names the op,
the argument, the rule and the value.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np

from ._geometry import effective_kernel, pooled_length

__all__ = [
    "GEOMETRY_LIMIT",
    "LEAD_OPS",
    "MASK_OPS",
    "Batched",
    "Padding",
    "Window",
    "as_array",
    "as_batched",
    "as_bool",
    "as_input",
    "as_int_tuple",
    "as_optional_divisor",
    "as_pad_value",
    "as_padding",
    "dtype_error",
    "exactly",
    "is_bfloat16",
    "make_window",
    "one_per_dimension",
    "over_channels",
    "pullback_grad",
    "require_differentiable",
    "spatial_index",
    "spatial_rank",
    "unbatch",
    "window_arguments",
]

_FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

# The kernels compute window positions ``o * stride - pad_lo + j * dilation`` in int64. Every
# geometry value, the dilated kernel and the output plane are held to 2**60 cells, so that
# no sum or product of them can overflow (padded length + stride + dilated kernel < 2**63).
GEOMETRY_LIMIT = 2**60
_LIMIT_TEXT = "2**60 (window index arithmetic is int64)"


@dataclass(frozen=True)
class Window:
    """Canonical geometry of one pooling call: per spatial dimension, all ints.

    Attributes
    ----------
    kernel, stride, dilation : tuple of int
        Positive window parameters.
    pad : tuple of (int, int)
        Padding ``(lo, hi)`` before and after each dimension.
    in_shape, out_shape : tuple of int
        Spatial input and output sizes (every output size >= 1).
    """

    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad: tuple[tuple[int, int], ...]
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.kernel)


def _as_int(op: str, name: str, value: object, whole: object) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}(): {name} must contain ints, not bools; got {whole!r}")
    try:
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(
            f"{op}(): {name} must be an int or a tuple of ints; got {whole!r} "
            f"(an element of type {type(value).__name__})"
        ) from None


def as_int_tuple(op: str, name: str, value: object, ndim: int) -> tuple[int, ...]:
    """An int or a sequence of ``ndim`` (or 1, broadcast) ints, as a tuple of ints.

    Examples
    --------
    >>> as_int_tuple("max_pool2d", "kernel_size", 3, 2)
    (3, 3)
    >>> as_int_tuple("max_pool2d", "stride", [2], 2)
    (2, 2)
    """
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = tuple(_as_int(op, name, v, value) for v in value)
        if len(items) == 1:
            return items * ndim
        if len(items) != ndim:
            raise ValueError(
                f"{op}(): {name} must be a single int or a tuple of {ndim} ints for "
                f"{ndim} spatial dimension(s); got {value!r} of length {len(items)}"
            )
        return items
    if isinstance(value, np.ndarray) and value.ndim == 1:
        return as_int_tuple(op, name, value.tolist(), ndim)
    return (_as_int(op, name, value, value),) * ndim


def as_bool(op: str, name: str, value: object) -> bool:
    """A flag argument: ``True``/``False`` (NumPy bools too), nothing else."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{op}(): {name} must be a bool; got {value!r} of type {type(value).__name__}")


def as_optional_divisor(op: str, value: object) -> int | None:
    """``divisor_override``: ``None`` or a non-zero int."""
    if value is None:
        return None
    divisor = _as_int(op, "divisor_override", value, value)
    if divisor == 0:
        raise ValueError(f"{op}(): divisor_override must be a non-zero int or None; got 0")
    if abs(divisor) >= 2**63:
        raise ValueError(
            f"{op}(): divisor_override must fit in int64 (magnitude below 2**63); got {divisor}"
        )
    return divisor


def spatial_rank(op: str, kernel_size: object, ndim: int | None) -> int:
    """Spatial rank of a call: ``ndim`` if given, else ``len(kernel_size)``."""
    if ndim is not None:
        rank = _as_int(op, "ndim", ndim, ndim)
        if rank < 1:
            raise ValueError(f"{op}(): ndim must be a positive int; got {ndim!r}")
        return rank
    if isinstance(kernel_size, Sequence) and not isinstance(kernel_size, (str, bytes)):
        if len(kernel_size) == 0:
            raise ValueError(f"{op}(): kernel_size must not be empty; got {kernel_size!r}")
        return len(kernel_size)
    raise TypeError(
        f"{op}(): an int kernel_size needs ndim= to say how many trailing axes to pool; "
        f"got kernel_size={kernel_size!r} and ndim=None (pass a tuple such as (2, 2), or ndim=2)"
    )


def is_bfloat16(dtype: np.dtype) -> bool:
    """Is ``dtype`` bfloat16 (``ml_dtypes.bfloat16``, what NumPy holds JAX's, PyTorch's and
    TensorFlow's bfloat16 in)? Checked by name: ``ml_dtypes`` need not be imported."""
    return dtype.kind == "V" and dtype.name == "bfloat16"


# The ops that take bool masks, and what the refusal of bfloat16 says (the ops that take
# it ask `as_input` for it). (the torch-named functions refuse bool, as PyTorch does)
MASK_OPS = ("max_pool", "min_pool", "sum_pool", "pool", "global_max_pool")
_MASK_TEXT = ("bool masks are taken by poolnd.max_pool, min_pool, sum_pool, pool and "
              "global_max_pool; an average of a mask is a fraction: pool(mask, 'nanmean', "
              "...) gives it in float64, or cast the mask first, mask.astype(np.float32)")
_BFLOAT16_TEXT = ("bfloat16 is taken by max, min, sum, average, generic, LP, adaptive and "
                  "fractional max pooling and by max unpooling; cast it to float32 for the "
                  "others")


def dtype_error(op: str, dtype: np.dtype) -> TypeError:
    """The refusal of an input dtype, with how to get a mask's or bfloat16's result."""
    hint = ""
    if dtype == np.bool_:
        hint = f" ({_MASK_TEXT})"
    elif is_bfloat16(dtype):
        hint = f" ({_BFLOAT16_TEXT})"
    return TypeError(
        f"{op}(): input dtype must be float16, float32, float64 or an integer type; "
        f"got {dtype}{hint}"
    )


def as_pad_value(op: str, value: object, dtype: np.dtype) -> np.generic:
    """``pad_value``: a real number that ``dtype`` holds exactly (any float for floating
    input, NaN and infinities included; an int in range for integers; 0/1 or a bool for
    bool), as a ``dtype`` scalar.

    Examples
    --------
    >>> as_pad_value("pool", 0, np.dtype(np.uint8))
    np.uint8(0)
    >>> as_pad_value("pool", float("nan"), np.dtype(np.float32))
    np.float32(nan)
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if not isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        raise TypeError(
            f"{op}(): pad_value must be a real number (or None); got {value!r} of type "
            f"{type(value).__name__}"
        )
    if dtype.kind == "f" or is_bfloat16(dtype):
        return cast(np.generic, np.asarray(float(value)).astype(dtype)[()])
    f = float(value)
    if dtype == np.bool_:
        ok, low, high = f in (0.0, 1.0), 0, 1
    else:
        info = np.iinfo(dtype)
        low, high = int(info.min), int(info.max)
        ok = f.is_integer() and low <= int(value) <= high
    if not ok:
        raise ValueError(
            f"{op}(): pad_value must be a whole number in [{low}, {high}] for {dtype} input; "
            f"got {value!r}"
        )
    return cast(np.generic, np.asarray(int(value)).astype(dtype)[()])


def as_array(op: str, name: str, value: object, expected: str) -> np.ndarray:
    """``value`` as an ndarray (itself when it is one); a value NumPy cannot read raises a
    TypeError naming ``name``, what was ``expected`` and the value's type.

    Examples
    --------
    >>> as_array("max_unpool1d", "indices", [[0, 1]], "an int64 array").dtype
    dtype('int64')
    """
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{op}(): {name} must be {expected}; got {type(value).__name__} ({exc})"
        ) from None


def one_per_dimension(items: list[Any], ndim: int) -> list[Any] | None:
    """``items`` for ``ndim`` dimensions: one item repeated for each, or one per dimension;
    None when their count is neither (the caller names the argument in its error).

    Examples
    --------
    >>> one_per_dimension([2], 3), one_per_dimension([1, 2], 2), one_per_dimension([1, 2], 3)
    ([2, 2, 2], [1, 2], None)
    """
    if len(items) == 1:
        return items * ndim
    return items if len(items) == ndim else None


def as_input(op: str, x: object, ndim: int, *, bools: bool = False,
             lead: bool = False, bfloat16: bool = False) -> np.ndarray:
    """The input as an ndarray of a supported dtype and rank ``ndim + 1`` or ``ndim + 2``
    (any rank above ``ndim`` with ``lead``: leading batch axes); bool too with ``bools``,
    bfloat16 too with ``bfloat16``.

    The array is not copied when it already is an ndarray.
    """
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{op}(): input must be a real numeric array; got a {type(x).__name__}")
    arr = as_array(op, "input", x, "a real numeric array")
    if not (arr.dtype.kind in "iu" or arr.dtype.newbyteorder("=") in _FLOAT_DTYPES
            or (bools and arr.dtype == np.bool_) or (bfloat16 and is_bfloat16(arr.dtype))):
        raise dtype_error(op, arr.dtype)
    if lead and arr.ndim > ndim + 2:
        pass
    elif arr.ndim not in (ndim + 1, ndim + 2):
        raise ValueError(
            f"{op}(): input must have {ndim + 1} dims (C, *spatial) or {ndim + 2} dims "
            f"(N, C, *spatial) for {ndim} spatial dimension(s)"
            f"{' or more (leading batch axes)' if lead else ''}; got shape {arr.shape}"
        )
    non_batch = arr.shape[-(ndim + 1):]
    if 0 in non_batch:
        raise ValueError(
            f"{op}(): input channel and spatial sizes must be positive (only the batch may be 0); "
            f"got shape {arr.shape}"
        )
    return arr


PADDING_MODES = ("valid", "same", "same_lower")


@dataclass(frozen=True)
class Padding:
    """A canonical ``padding`` argument.

    ``kind`` is ``"torch"`` (symmetric ints under PyTorch's rule: at most half the dilated
    kernel), ``"pairs"`` (explicit ``(lo, hi)`` per dimension, any non-negative size; also
    ``'valid'``), ``"same"`` or ``"same_lower"`` (resolved against the input size in
    `make_window`). ``values`` holds the ints or pairs.
    """

    kind: str
    values: tuple = ()


def _padding_error(op: str, value: object, ndim: int) -> TypeError:
    return TypeError(
        f"{op}(): padding must be an int, a tuple of {ndim} ints, a tuple of {ndim} (lo, hi) "
        f"pairs, or one of {', '.join(repr(m) for m in PADDING_MODES)}; got {value!r}"
    )


def as_padding(op: str, value: object, ndim: int) -> Padding:
    """Canonicalise ``padding``: PyTorch's ints, per-side pairs, or a mode name.

    Examples
    --------
    >>> as_padding("max_pool2d", 1, 2)
    Padding(kind='torch', values=(1, 1))
    >>> as_padding("max_pool2d", ((0, 1), (2, 0)), 2)
    Padding(kind='pairs', values=((0, 1), (2, 0)))
    >>> as_padding("max_pool2d", "valid", 2)
    Padding(kind='pairs', values=((0, 0), (0, 0)))
    >>> as_padding("max_pool2d", "same", 2).kind
    'same'
    """
    if isinstance(value, str):
        mode = value.lower()
        if mode not in PADDING_MODES:
            raise ValueError(
                f"{op}(): padding must be an int, a tuple, or one of "
                f"{', '.join(repr(m) for m in PADDING_MODES)}; got {value!r}"
            )
        if mode == "valid":
            return Padding("pairs", ((0, 0),) * ndim)
        return Padding(mode)
    if isinstance(value, np.ndarray) and value.ndim == 2:
        value = value.tolist()
    is_seq = isinstance(value, Sequence) and not isinstance(value, bytes)
    nested = is_seq and any(
        isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, (str, bytes))
        for v in value  # type: ignore[attr-defined]  # a Sequence here (is_seq)
    )
    if not nested:
        if isinstance(value, bytes):
            raise _padding_error(op, value, ndim)
        return Padding("torch", as_int_tuple(op, "padding", value, ndim))
    items = list(value)  # type: ignore[call-overload]  # a Sequence here (nested)
    if not all(isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, (str, bytes))
               and len(v) == 2 for v in items):
        raise ValueError(
            f"{op}(): padding given as pairs must hold one (lo, hi) pair per spatial "
            f"dimension; got {value!r}"
        )
    spread = one_per_dimension(items, ndim)
    if spread is None:
        raise ValueError(
            f"{op}(): padding must hold {ndim} (lo, hi) pair(s) for {ndim} spatial "
            f"dimension(s); got {value!r} with {len(items)}"
        )
    pairs = tuple(tuple(_as_int(op, "padding", v, value) for v in pair) for pair in spread)
    if min(min(pair) for pair in pairs) < 0:
        raise ValueError(f"{op}(): padding must be non-negative; got {value!r}")
    return Padding("pairs", pairs)


def same_pads(
    length: int, kernel: int, stride: int, dilation: int, lower: bool
) -> tuple[int, int]:
    """``(lo, hi)`` of 'same' padding: ``ceil(length / stride)`` outputs, the odd cell of the
    total at the end (TensorFlow, Keras, ONNX SAME_UPPER) or the start (SAME_LOWER).

    Examples
    --------
    >>> same_pads(5, 2, 2, 1, lower=False)
    (0, 1)
    >>> same_pads(5, 2, 2, 1, lower=True)
    (1, 0)
    """
    out = -(-length // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - length, 0)
    small, big = total // 2, total - total // 2
    return (big, small) if lower else (small, big)


_F = TypeVar("_F", bound=Callable[..., Any])


_REMEMBERED = 512  # results each remembered function keeps


def _remembered(fn: _F) -> _F:
    """``fn``, a pure function, with its last `_REMEMBERED` results remembered by its
    arguments (`functools.lru_cache`); arguments that cannot be hashed are computed afresh,
    and errors are not remembered."""
    cached = functools.lru_cache(maxsize=_REMEMBERED)(fn)

    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return cached(*args, **kwargs)
        except TypeError as error:
            if "unhashable" not in str(error):
                raise
            return fn(*args, **kwargs)

    return cast(_F, call)


def exactly(value: Any) -> Any:
    """``value`` tagged with the exact type of it and of each element (so that ``1``,
    ``True`` and ``np.int64(1)`` differ), for ints, bools, strings, None and tuples and
    lists of them; None for anything else.

    Examples
    --------
    >>> exactly((2, True))
    (<class 'tuple'>, ((<class 'int'>, 2), (<class 'bool'>, True)))
    >>> exactly(2.0) is None
    True
    """
    kind = type(value)
    if kind in _EXACT_SCALARS:
        return kind, value
    if kind is tuple or kind is list:
        parts = []
        for v in value:  # (scalars tagged here: a call each costs more, a call is short)
            part = (type(v), v) if type(v) in _EXACT_SCALARS else exactly(v)
            if part is None:
                return None
            parts.append(part)
        return kind, tuple(parts)
    return None


_EXACT_SCALARS = frozenset({int, bool, str, type(None)})


def _remembered_exactly(fn: _F) -> _F:
    """`_remembered` for a checking function, whose errors depend on its arguments' types:
    the results are remembered by the arguments tagged with their exact types (`exactly`;
    ``1`` and ``True`` hash alike), and arguments of other types (NumPy ints, floats, ...)
    are checked afresh each call."""
    memory: dict[Any, Any] = {}

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        key = exactly(args)
        if key is None:
            return fn(*args)
        got = memory.get(key)
        if got is None:
            got = fn(*args)
            if len(memory) >= _REMEMBERED:
                memory.clear()
            memory[key] = got
        return got

    return cast(_F, call)


WindowArguments = tuple[int, tuple[int, ...], tuple[int, ...] | None, Padding,
                        tuple[int, ...], bool, bool]


@_remembered_exactly
def window_arguments(
    op: str, kernel_size: object, stride: object, padding: object, dilation: object,
    ceil_mode: object, ndim: int | None, channels_last: object,
) -> WindowArguments:
    """A windowed call's arguments checked and canonical: ``(rank, kernel, strides (None:
    the kernel's), padding, dilations, ceil_mode, channels_last)``. The checks that need
    the input's shape are `make_window`'s. Remembered (`_remembered_exactly`): a layer, or
    a loop over batches, passes the same arguments each call, and checking them afresh is
    tens of microseconds a call once a kernel has pushed the interpreter's own data out
    of the caches."""
    rank = spatial_rank(op, kernel_size, ndim)
    kernel = as_int_tuple(op, "kernel_size", kernel_size, rank)
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        strides = None  # torch treats an empty stride like None: the kernel size
    else:
        strides = as_int_tuple(op, "stride", stride, rank)
    pads = as_padding(op, padding, rank)
    dilations = as_int_tuple(op, "dilation", dilation, rank)
    return (rank, kernel, strides, pads, dilations, as_bool(op, "ceil_mode", ceil_mode),
            as_bool(op, "channels_last", channels_last))


@_remembered
def make_window(
    op: str,
    in_shape: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...] | None,
    padding: Padding | tuple[int, ...],
    dilation: tuple[int, ...],
    ceil_mode: bool,
) -> Window:
    """Check window values against each other and the input; compute the output shape.

    ``stride=None`` means the kernel size. PyTorch's int padding may be up to half the
    *dilated* kernel; per-side pairs may be any size; 'same' modes are resolved here. The
    result depends on the arguments only, so the last few hundred are remembered (a
    layer called on batches of one shape computes its window once); arguments that cannot
    be hashed are checked afresh.
    """
    for name, values in (("kernel_size", kernel), ("dilation", dilation)):
        if min(values) < 1:
            raise ValueError(f"{op}(): {name} must be positive; got {values}")
    if stride is None:
        stride = kernel
    elif min(stride) < 1:
        raise ValueError(f"{op}(): stride must be positive; got {stride}")
    for name, values in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if max(values) > GEOMETRY_LIMIT:
            raise ValueError(f"{op}(): {name} must be at most {_LIMIT_TEXT}; got {values}")
    spans = tuple(effective_kernel(k, d) for k, d in zip(kernel, dilation))
    if max(spans) > GEOMETRY_LIMIT:
        raise ValueError(
            f"{op}(): the dilated kernel (kernel_size - 1) * dilation + 1 must be at most "
            f"{_LIMIT_TEXT}; got kernel_size={kernel} and dilation={dilation}, a span of {spans}"
        )
    if math.prod(kernel) > GEOMETRY_LIMIT:
        raise ValueError(
            f"{op}(): the kernel volume (the product of kernel_size) must be at most "
            f"{_LIMIT_TEXT}; got kernel_size={kernel}"
        )
    if not isinstance(padding, Padding):
        padding = Padding("torch", tuple(padding))
    if padding.kind == "pairs" and max(max(pair) for pair in padding.values) > GEOMETRY_LIMIT:
        raise ValueError(
            f"{op}(): padding must be at most {_LIMIT_TEXT} on each side; got "
            f"{padding.values}"
        )
    if padding.kind == "torch":
        if min(padding.values) < 0:
            raise ValueError(f"{op}(): padding must be non-negative; got {padding.values}")
        for k, d, p in zip(kernel, dilation, padding.values):
            if p > effective_kernel(k, d) // 2:
                raise ValueError(
                    f"{op}(): padding must be at most half the dilated kernel "
                    f"((kernel_size - 1) * dilation + 1) // 2; got padding={padding.values} "
                    f"with kernel_size={kernel} and dilation={dilation} (per-side pairs "
                    f"((lo, hi), ...) may be larger)"
                )
        pads = tuple((p, p) for p in padding.values)
    elif padding.kind == "pairs":
        pads = padding.values
    else:
        lower = padding.kind == "same_lower"
        pads = tuple(
            same_pads(n, k, s, d, lower)
            for n, k, s, d in zip(in_shape, kernel, stride, dilation)
        )
    out_shape = tuple(
        pooled_length(n, k, s, lo, hi, d, ceil_mode)
        for n, k, s, (lo, hi), d in zip(in_shape, kernel, stride, pads, dilation)
    )
    if min(out_shape) < 1:
        shown = padding.values if padding.kind in ("torch", "pairs") else repr(padding.kind)
        raise ValueError(
            f"{op}(): output size must be at least 1 in every spatial dimension; input size "
            f"{in_shape} with kernel_size={kernel}, stride={stride}, padding={shown}, "
            f"dilation={dilation}, ceil_mode={ceil_mode} gives output size {out_shape}"
        )
    if math.prod(out_shape) > GEOMETRY_LIMIT:
        raise ValueError(
            f"{op}(): the output must have at most 2**60 cells per plane (window index "
            f"arithmetic is int64); input size "
            f"{in_shape} with kernel_size={kernel}, stride={stride}, padding={pads}, "
            f"dilation={dilation}, ceil_mode={ceil_mode} gives output size {out_shape}"
        )
    return Window(
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        pad=pads,
        in_shape=in_shape,
        out_shape=out_shape,
    )


def over_channels(win: Window, channels: int) -> Window:
    """A channels-last call's window: one more trailing dimension, of kernel 1, over the
    ``channels`` axis, so that ``(N, *spatial, C)`` pools in place."""
    return Window(
        kernel=(*win.kernel, 1),
        stride=(*win.stride, 1),
        dilation=(*win.dilation, 1),
        pad=(*win.pad, (0, 0)),
        in_shape=(*win.in_shape, channels),
        out_shape=(*win.out_shape, channels),
    )


def spatial_index(indices: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Indices of a channels-last call, flat over ``(*spatial, C)``, as flat spatial indices
    (what the channels-first call gives); -1 stays -1."""
    return np.floor_divide(indices, values.shape[-1])


def require_differentiable(op: str, dtype: np.dtype) -> None:
    """Gradients exist for floating inputs only (bfloat16 included)."""
    if dtype.kind != "f" and not is_bfloat16(dtype):
        raise TypeError(
            f"{op}(): gradients need a floating input (float16, float32 or float64); "
            f"got input dtype {dtype}"
        )


Batched = bool | tuple[int, ...]


def as_batched(op: str, x: object, ndim: int, *, bfloat16: bool = False
               ) -> tuple[np.ndarray, Batched]:
    """`as_input`, then in the layout every kernel takes: a leading batch axis added to an
    unbatched ``(C, *spatial)`` input, native byte order. Returns ``(array, batched)``:
    whether the input was batched, or, for the N-d ops of `LEAD_OPS` given several leading
    batch axes, their shape (a tuple, truthy), which are merged into one (`unbatch` splits
    them again). Bool input is taken by the ops of `MASK_OPS`, bfloat16 with ``bfloat16``."""
    arr = as_input(op, x, ndim, bools=op in MASK_OPS, lead=op in LEAD_OPS, bfloat16=bfloat16)
    batched: Batched = arr.ndim >= ndim + 2
    if arr.ndim > ndim + 2:
        batched = arr.shape[: arr.ndim - ndim - 1]
        arr = arr.reshape((math.prod(batched), *arr.shape[arr.ndim - ndim - 1:]))
    if not batched:
        arr = arr[np.newaxis]
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    return arr, batched


# The N-d functions, which take any number of leading batch axes (the torch-named ones keep
# PyTorch's one batch axis).
LEAD_OPS = ("max_pool", "avg_pool", "min_pool", "sum_pool", "pool", "global_max_pool",
            "global_avg_pool", "global_lp_pool")


def unbatch(a: np.ndarray, batched: Batched) -> np.ndarray:
    """Undo `as_batched`'s batch axis on a result (split merged batch axes again)."""
    if isinstance(batched, tuple):
        return a.reshape(batched + a.shape[1:])
    return a if batched else a[0]


def pullback_grad(op: str, grad_output: Any, like: np.ndarray, batched: Batched) -> np.ndarray:
    """Check a pullback's cotangent against the output it belongs to; return it batched.

    It must have the output's shape and a real numeric dtype; it is cast to the output dtype.
    """
    g = np.asarray(grad_output)
    if g.dtype.kind not in "fiu" and not is_bfloat16(g.dtype):
        raise TypeError(
            f"{op}() backward: grad_output must be a real numeric array; got dtype {g.dtype}"
        )
    if g.shape != like.shape:
        raise ValueError(
            f"{op}() backward: grad_output must have the output's shape {like.shape}; "
            f"got shape {g.shape}"
        )
    g = g.astype(like.dtype.newbyteorder("="), copy=False)
    if isinstance(batched, tuple):
        return g.reshape((math.prod(batched), *g.shape[len(batched):]))
    return g if batched else g[np.newaxis]
