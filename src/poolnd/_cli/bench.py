"""Benchmark harness: poolnd against PyTorch, onnxruntime, NumPy and scikit-image.

Op kinds: max / average pooling forward and backward on `CASES`, adaptive average / max
pooling on `ADAPTIVE_CASES` and LP pooling on `LP_CASES` (`OP_CASES` maps each op kind to its
cases).

Run it as ``poolnd bench [OPTIONS]`` (or ``python benchmarks/run.py [OPTIONS]``); ``--help``
lists the options and ``benchmarks/README.md`` explains how to read the tables.

Every (case, op) is timed in one interleaved run: each repetition ("round") calls every
competitor once, in a fresh (seeded) random order each round, so that machine noise hits
all competitors alike and no competitor always runs right after one that warmed the cache
with the same input. Each competitor's first call is timed separately (it includes any
compilation, e.g. of poolnd's Numba kernels) and excluded from the medians.

Everything but NumPy and poolnd is optional: a competitor whose package cannot be imported,
or that does not apply to a case, shows ``n/a``. Nothing is imported or run at import time.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib
import importlib.metadata
import itertools
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "ADAPTIVE_CASES",
    "CASES",
    "COLUMNS",
    "LP_CASES",
    "LP_NORM",
    "OPS",
    "OP_CASES",
    "Case",
    "main",
    "numpy_avg_pool",
    "numpy_avg_pool_backward",
    "numpy_max_pool",
    "numpy_max_pool_argmax",
    "numpy_max_pool_backward",
]

OPS: tuple[str, ...] = (
    "max", "avg", "max_bwd", "avg_bwd", "adaptive_avg", "adaptive_max", "lp",
)
"""Op kinds: forward max / average pooling and their backward passes; forward adaptive
average / max pooling; forward LP pooling (norm `LP_NORM`)."""

LP_NORM = 2
"""``norm_type`` of the ``lp`` op kind (ONNX ``LpPool`` attribute ``p``)."""

COLUMNS: tuple[tuple[str, str], ...] = (
    ("poolnd", "poolnd"),
    ("poolnd_cl", "poolnd CL"),
    ("torch", "torch NCHW"),
    ("torch_cl", "torch CL"),
    ("ort", "onnxruntime"),
    ("numpy", "numpy"),
    ("skimage", "skimage"),
    ("copy", "copy"),
)
"""Competitor keys and their table headings, in table order."""

_NEW_OPS = ("adaptive_avg", "adaptive_max", "lp")
_NEW_OP_COLUMNS = ("poolnd", "torch", "torch_cl", "ort", "copy")
"""The columns of the `_NEW_OPS` tables (no NumPy or skimage competitor)."""

_FWD, _FWDBWD, _BWD = "forward", "forward+backward", "backward only"


@dataclass(frozen=True)
class Case:
    """One benchmark input: a float32 ``(N, C, *spatial)`` shape and a square window, or
    (adaptive pooling) a square ``output_size`` instead of the window.

    Examples
    --------
    >>> c = Case((64, 32, 28, 28), 2, 2)
    >>> c.name, c.ndim, c.out_shape
    ('2d 64x32x28x28 k2 s2 p0', 2, (64, 32, 14, 14))
    >>> c.is_blocky
    True
    >>> a = Case((32, 512, 14, 14), output_size=7)
    >>> a.name, a.out_shape, a.shrunk().name
    ('2d 32x512x14x14 -> 7x7', (32, 512, 7, 7), '2d 4x512x14x14 -> 7x7')
    """

    shape: tuple[int, ...]
    kernel: int = 0
    stride: int = 0
    padding: int = 0
    output_size: int | None = None

    @property
    def ndim(self) -> int:
        """Number of spatial dimensions."""
        return len(self.shape) - 2

    @property
    def name(self) -> str:
        """Label used in the tables and matched by ``--cases``."""
        dims = "x".join(map(str, self.shape))
        if self.output_size is not None:
            return f"{self.ndim}d {dims} -> {'x'.join([str(self.output_size)] * self.ndim)}"
        return f"{self.ndim}d {dims} k{self.kernel} s{self.stride} p{self.padding}"

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Output shape (floor mode, no dilation)."""
        if self.output_size is not None:
            return self.shape[:2] + (self.output_size,) * self.ndim
        k, s, p = self.kernel, self.stride, self.padding
        return self.shape[:2] + tuple((n + 2 * p - k) // s + 1 for n in self.shape[2:])

    @property
    def is_blocky(self) -> bool:
        """Non-overlapping tiling without padding or remainder (``block_reduce`` applies)."""
        return (
            self.output_size is None
            and self.stride == self.kernel
            and self.padding == 0
            and all(n % self.kernel == 0 for n in self.shape[2:])
        )

    def shrunk(self) -> Case:
        """The same case with an eighth of the batch (at least 1), for ``--quick``."""
        return dataclasses.replace(self, shape=(max(1, self.shape[0] // 8), *self.shape[1:]))


CASES: tuple[Case, ...] = (
    Case((32, 64, 112, 112), 3, 2, 1),
    Case((32, 128, 112, 112), 2, 2),
    Case((64, 32, 28, 28), 2, 2),
    Case((8, 256, 56, 56), 3, 1, 1),
    Case((1, 64, 112, 112), 3, 2, 1),
    Case((16, 64, 8192), 4, 4),
    Case((4, 32, 16, 56, 56), 2, 2),
)
"""The benchmark cases of the project's issue, for max / average pooling and backward."""

ADAPTIVE_CASES: tuple[Case, ...] = (
    Case((32, 2048, 7, 7), output_size=1),
    Case((32, 512, 14, 14), output_size=7),
)
"""Adaptive pooling cases: a ResNet-50 head (global pooling) and a 14x14 -> 7x7 reduction."""

LP_CASES: tuple[Case, ...] = (
    Case((32, 64, 112, 112), 3, 2),
    Case((8, 256, 56, 56), 2, 2),
)
"""LP pooling cases (norm `LP_NORM`, no padding: LP pooling has none)."""

OP_CASES: dict[str, tuple[Case, ...]] = {
    "max": CASES, "avg": CASES, "max_bwd": CASES, "avg_bwd": CASES,
    "adaptive_avg": ADAPTIVE_CASES, "adaptive_max": ADAPTIVE_CASES, "lp": LP_CASES,
}
"""The cases each op kind runs on."""


# --------------------------------------------------------------------------------------------
# The "NumPy strided passes" competitor: one vectorised pass per kernel offset.
# --------------------------------------------------------------------------------------------


def _padded(x: np.ndarray, ndim: int, padding: int, fill: float) -> np.ndarray:
    """``x`` with ``padding`` cells of ``fill`` on both sides of its last ``ndim`` axes."""
    if padding == 0:
        return x
    lead, spatial = x.shape[:-ndim], x.shape[-ndim:]
    out = np.full(lead + tuple(n + 2 * padding for n in spatial), fill, dtype=x.dtype)
    inner: tuple[Any, ...] = (Ellipsis, *(slice(padding, padding + n) for n in spatial))
    out[inner] = x
    return out


def _offset_views(
    xp: np.ndarray, ndim: int, kernel: int, stride: int, out_spatial: Sequence[int]
) -> list[np.ndarray]:
    """Strided views of padded ``xp``, one per kernel offset in row-major order."""
    views = []
    for offset in itertools.product(range(kernel), repeat=ndim):
        index: tuple[Any, ...] = (Ellipsis, *(slice(j, j + stride * (o - 1) + 1, stride)
                                              for j, o in zip(offset, out_spatial, strict=True)))
        views.append(xp[index])
    return views


def _out_spatial(spatial: Sequence[int], kernel: int, stride: int, padding: int) -> list[int]:
    return [(n + 2 * padding - kernel) // stride + 1 for n in spatial]


def numpy_max_pool(x: np.ndarray, ndim: int, kernel: int, stride: int,
                   padding: int = 0) -> np.ndarray:
    """Max pooling as one ``np.maximum`` pass per kernel offset over a ``-inf``-padded copy.

    Parameters
    ----------
    x : ndarray
        Float input, spatial axes trailing.
    ndim : int
        Number of spatial axes.
    kernel, stride, padding : int
        Square window parameters (floor mode, no dilation).

    Returns
    -------
    ndarray
        The pooled maxima.

    Examples
    --------
    >>> numpy_max_pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), 1, 2, 2)
    array([[2., 0., 3., 0.]])
    """
    xp = _padded(x, ndim, padding, -np.inf)
    views = _offset_views(xp, ndim, kernel, stride,
                          _out_spatial(x.shape[-ndim:], kernel, stride, padding))
    out = views[0].copy()
    for view in views[1:]:
        np.maximum(out, view, out=out)
    return out


def numpy_avg_pool(x: np.ndarray, ndim: int, kernel: int, stride: int,
                   padding: int = 0) -> np.ndarray:
    """Average pooling (``count_include_pad=True``) as one ``np.add`` pass per kernel offset.

    Parameters are those of `numpy_max_pool`; padding is zeros and every window divides by
    ``kernel ** ndim``.

    Examples
    --------
    >>> numpy_avg_pool(np.array([[1., 2, -1, 0, 2, 3, -2, 0]]), 1, 2, 2)
    array([[ 1.5, -0.5,  2.5, -1. ]])
    """
    xp = _padded(x, ndim, padding, 0.0)
    views = _offset_views(xp, ndim, kernel, stride,
                          _out_spatial(x.shape[-ndim:], kernel, stride, padding))
    out = views[0].copy()
    for view in views[1:]:
        np.add(out, view, out=out)
    np.divide(out, out.dtype.type(kernel**ndim), out=out)
    return out


def numpy_max_pool_argmax(
    x: np.ndarray, ndim: int, kernel: int, stride: int, padding: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling that also records which kernel offset won (first maximum wins ties).

    Returns
    -------
    out : ndarray
        The pooled maxima.
    arg : ndarray of uint8
        Row-major kernel offset of each maximum, for `numpy_max_pool_backward`.
    """
    xp = _padded(x, ndim, padding, -np.inf)
    views = _offset_views(xp, ndim, kernel, stride,
                          _out_spatial(x.shape[-ndim:], kernel, stride, padding))
    out = views[0].copy()
    arg = np.zeros(out.shape, dtype=np.uint8)
    take = np.empty(out.shape, dtype=bool)
    for t, view in enumerate(views[1:], start=1):
        np.greater(view, out, out=take)
        np.copyto(out, view, where=take)
        np.copyto(arg, np.uint8(t), where=take)
    return out, arg


def numpy_max_pool_backward(
    grad_out: np.ndarray, arg: np.ndarray, in_shape: tuple[int, ...], ndim: int,
    kernel: int, stride: int, padding: int = 0,
) -> np.ndarray:
    """Gradient of max pooling: one masked ``np.add`` pass per kernel offset.

    Parameters
    ----------
    grad_out : ndarray
        Gradient of the pooled output.
    arg : ndarray of uint8
        Winning offsets from `numpy_max_pool_argmax`.
    in_shape : tuple of int
        Shape of the pooled input.
    ndim, kernel, stride, padding : int
        As for `numpy_max_pool`.

    Returns
    -------
    ndarray
        Gradient with respect to the input.

    Examples
    --------
    >>> x = np.array([[1., 2, -1, 0, 2, 3, -2, 0]])
    >>> out, arg = numpy_max_pool_argmax(x, 1, 2, 2)
    >>> numpy_max_pool_backward(np.ones_like(out), arg, x.shape, 1, 2, 2)
    array([[0., 1., 0., 1., 0., 1., 0., 1.]])
    """
    spatial = in_shape[-ndim:]
    gp = np.zeros(in_shape[:-ndim] + tuple(n + 2 * padding for n in spatial), grad_out.dtype)
    hit = np.empty(grad_out.shape, dtype=bool)
    views = _offset_views(gp, ndim, kernel, stride, grad_out.shape[-ndim:])
    for t, view in enumerate(views):
        np.equal(arg, t, out=hit)
        np.add(view, grad_out, out=view, where=hit)
    if padding == 0:
        return gp
    inner: tuple[Any, ...] = (Ellipsis, *(slice(padding, padding + n) for n in spatial))
    return gp[inner].copy()


def numpy_avg_pool_backward(
    grad_out: np.ndarray, in_shape: tuple[int, ...], ndim: int, kernel: int, stride: int,
    padding: int = 0,
) -> np.ndarray:
    """Gradient of `numpy_avg_pool`: one ``np.add`` pass per kernel offset.

    Examples
    --------
    >>> numpy_avg_pool_backward(np.ones((1, 4)), (1, 8), 1, 2, 2)
    array([[0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    """
    spatial = in_shape[-ndim:]
    delta = grad_out / grad_out.dtype.type(kernel**ndim)
    gp = np.zeros(in_shape[:-ndim] + tuple(n + 2 * padding for n in spatial), grad_out.dtype)
    for view in _offset_views(gp, ndim, kernel, stride, grad_out.shape[-ndim:]):
        np.add(view, delta, out=view)
    if padding == 0:
        return gp
    inner: tuple[Any, ...] = (Ellipsis, *(slice(padding, padding + n) for n in spatial))
    return gp[inner].copy()


# --------------------------------------------------------------------------------------------
# Optional competitors.
# --------------------------------------------------------------------------------------------


def _try_import(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except Exception:  # an optional competitor: any failure to import makes it n/a
        return None


@dataclass
class _Libs:
    """The optional packages that could be imported (None where not)."""

    torch: Any = None
    ort: Any = None
    onnx: Any = None
    skimage_measure: Any = None

    @classmethod
    def load(cls) -> _Libs:
        return cls(
            torch=_try_import("torch"),
            ort=_try_import("onnxruntime"),
            onnx=_try_import("onnx"),
            skimage_measure=_try_import("skimage.measure"),
        )


def _ort_applies(op: str, case: Case) -> bool:
    """Whether an ONNX op computes ``op`` on ``case`` (adaptive: only global pooling)."""
    return not op.startswith("adaptive_") or case.output_size == 1


def _ort_session(libs: _Libs, op: str, case: Case, threads: int) -> Any:
    """An onnxruntime session holding one pooling node (opset 17): MaxPool / AveragePool /
    LpPool, or GlobalAveragePool / GlobalMaxPool for adaptive pooling to size 1."""
    helper, tensor_proto = libs.onnx.helper, libs.onnx.TensorProto
    attrs: dict[str, Any] = {}
    if op.startswith("adaptive_"):
        onnx_op = "GlobalAveragePool" if op == "adaptive_avg" else "GlobalMaxPool"
    else:
        onnx_op = {"max": "MaxPool", "avg": "AveragePool", "lp": "LpPool"}[op]
        attrs = {
            "kernel_shape": [case.kernel] * case.ndim,
            "strides": [case.stride] * case.ndim,
            "pads": [case.padding] * (2 * case.ndim),
        }
    if op == "avg":
        attrs["count_include_pad"] = 1
    if op == "lp":
        attrs["p"] = LP_NORM
    node = helper.make_node(onnx_op, ["x"], ["y"], **attrs)
    graph = helper.make_graph(
        [node], "pool",
        [helper.make_tensor_value_info("x", tensor_proto.FLOAT, list(case.shape))],
        [helper.make_tensor_value_info("y", tensor_proto.FLOAT, list(case.out_shape))],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # the IR version of opset 17; any onnxruntime >= 1.13 loads it
    so = libs.ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = libs.ort.ExecutionMode.ORT_SEQUENTIAL
    # Spinning pool threads would keep burning cores while the next competitor runs.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return libs.ort.InferenceSession(
        model.SerializeToString(), so, providers=["CPUExecutionProvider"]
    )


# --------------------------------------------------------------------------------------------
# Competitors of one (case, op).
# --------------------------------------------------------------------------------------------

Fn = Callable[[], Any]


@dataclass
class _Competitor:
    """A timed callable, built lazily by ``make`` (None: n/a) right before its first call."""

    key: str
    mode: str
    make: Callable[[], Fn] | None
    fn: Fn | None = None
    first_ms: float | None = None
    times_ms: list[float] = field(default_factory=list)
    error: str | None = None


def _poolnd_fn(kind: str, ndim: int) -> Callable[..., Any]:
    import poolnd

    return getattr(poolnd.functional, f"{kind}_pool{ndim}d")


def _torch_parts(libs: _Libs, case: Case) -> tuple[Any, Any, Any]:
    """(torch.nn.functional, its pooling function name prefix, channels-last format or None)."""
    torch = libs.torch
    fmt = {2: torch.channels_last, 3: torch.channels_last_3d}.get(case.ndim)
    return torch.nn.functional, f"pool{case.ndim}d", fmt


def _forward_competitors(
    libs: _Libs, op: str, case: Case, x: np.ndarray, threads: int
) -> list[_Competitor]:
    k, s, p, nd = case.kernel, case.stride, case.padding, case.ndim
    mode = _FWD

    def make_poolnd() -> Fn:
        fn = _poolnd_fn(op, nd)
        return lambda: fn(x, k, s, p)

    def make_poolnd_cl() -> Fn:  # the same call on a channels-last copy of the input
        fn = _poolnd_fn(op, nd)
        xl = np.ascontiguousarray(np.moveaxis(x, 1, -1))
        return lambda: fn(xl, k, s, p, channels_last=True)

    comps = [_Competitor("poolnd", mode, make_poolnd),
             _Competitor("poolnd_cl", mode, make_poolnd_cl)]

    if libs.torch is not None:
        F, suffix, fmt = _torch_parts(libs, case)
        tfn = getattr(F, f"{op}_{suffix}")

        comps += _torch_competitors(libs, mode, x, fmt, lambda xt: tfn(xt, k, s, p))
    else:
        comps += [_Competitor("torch", mode, None), _Competitor("torch_cl", mode, None)]
    comps.append(_ort_competitor(libs, op, case, threads, mode, x, True))

    np_fn = numpy_max_pool if op == "max" else numpy_avg_pool
    comps.append(_Competitor("numpy", mode, lambda: lambda: np_fn(x, nd, k, s, p)))

    def make_skimage() -> Fn:
        block_reduce = libs.skimage_measure.block_reduce
        red = np.max if op == "max" else np.mean
        block = (1, 1) + (k,) * nd
        return lambda: block_reduce(x, block, red)

    ok = libs.skimage_measure is not None and case.is_blocky
    comps.append(_Competitor("skimage", mode, make_skimage if ok else None))
    comps.append(_Competitor("copy", mode, lambda: _copy_fn(case, threads)))
    return comps


def _new_op_competitors(
    libs: _Libs, op: str, case: Case, x: np.ndarray, threads: int
) -> list[_Competitor]:
    """Competitors of the adaptive and LP op kinds (forward only)."""
    nd = case.ndim
    mode = _FWD
    if op == "lp":
        params: tuple[Any, ...] = (LP_NORM, case.kernel, case.stride)
    else:
        params = (case.output_size,)

    def make_poolnd() -> Fn:
        fn = _poolnd_fn(op, nd)
        return lambda: fn(x, *params)

    comps = [_Competitor("poolnd", mode, make_poolnd)]

    if libs.torch is not None:
        F, suffix, fmt = _torch_parts(libs, case)
        tfn = getattr(F, f"{op}_{suffix}")

        comps += _torch_competitors(libs, mode, x, fmt, lambda xt: tfn(xt, *params))
    else:
        comps += [_Competitor("torch", mode, None), _Competitor("torch_cl", mode, None)]
    comps.append(_ort_competitor(libs, op, case, threads, mode, x, _ort_applies(op, case)))
    comps.append(_Competitor("copy", mode, lambda: _copy_fn(case, threads)))
    return comps


def _torch_competitors(libs: Any, mode: str, x: np.ndarray, fmt: Any,
                       call: Callable[[Any], Any]) -> list[_Competitor]:
    """PyTorch on the input as NCHW and, where a memory format is given, channels-last."""

    def make_torch() -> Fn:
        xt = libs.torch.from_numpy(x)
        return lambda: call(xt)

    def make_torch_cl() -> Fn:
        xt = libs.torch.from_numpy(x).contiguous(memory_format=fmt)
        return lambda: call(xt)

    return [_Competitor("torch", mode, make_torch),
            _Competitor("torch_cl", mode, make_torch_cl if fmt is not None else None)]


def _ort_competitor(libs: Any, op: str, case: Case, threads: int, mode: str, x: np.ndarray,
                    applies: bool) -> _Competitor:
    """onnxruntime running the op's ONNX node, where it is installed and the case applies."""

    def make_ort() -> Fn:
        sess = _ort_session(libs, op, case, threads)
        feed = {"x": x}
        return lambda: sess.run(["y"], feed)[0]

    ok = libs.ort is not None and libs.onnx is not None and applies
    return _Competitor("ort", mode, make_ort if ok else None)


def _copy_fn(case: Case, threads: int) -> Fn:
    """The memory reference: ``threads`` threads copying, side by side, a float32 buffer as
    large as the case's input and output together, half read and half written. It moves the
    bytes a pooling pass cannot avoid moving (the input read, the output written; for a
    backward pass the same bytes the other way), at the rate this machine copies with that
    many threads, so ``copy / poolnd`` is poolnd's efficiency: 1 is copy speed."""
    from concurrent.futures import ThreadPoolExecutor

    cells = (math.prod(case.shape) + math.prod(case.out_shape)) // 2
    src = np.ones(cells, np.float32)
    dst = np.zeros_like(src)
    bounds = [cells * i // threads for i in range(threads + 1)]
    parts = [(dst[a:b], src[a:b]) for a, b in itertools.pairwise(bounds)]
    pool = ThreadPoolExecutor(max(1, threads - 1))  # np.copyto releases the GIL

    def copy() -> None:
        futures = [pool.submit(np.copyto, *part) for part in parts[1:]]
        np.copyto(*parts[0])
        for f in futures:
            f.result()

    return copy


def _backward_competitors(
    libs: _Libs, op: str, case: Case, x: np.ndarray, g: np.ndarray, threads: int
) -> list[_Competitor]:
    kind = op.removesuffix("_bwd")
    k, s, p, nd = case.kernel, case.stride, case.padding, case.ndim
    comps: list[_Competitor] = []

    def make_poolnd_fb() -> Fn:
        import poolnd

        fn = _poolnd_fn(kind, nd)

        def run() -> Any:
            _, pullback = poolnd.vjp(fn, x, k, s, p)
            return pullback(g)

        return run

    def make_poolnd_b() -> Fn:
        import poolnd

        _, pullback = poolnd.vjp(_poolnd_fn(kind, nd), x, k, s, p)
        return lambda: pullback(g)

    # forward+backward first, so that its first call is the one that meets cold kernels
    comps += [_Competitor("poolnd", _FWDBWD, make_poolnd_fb),
              _Competitor("poolnd", _BWD, make_poolnd_b)]

    if libs.torch is not None:
        torch = libs.torch
        F, suffix, fmt = _torch_parts(libs, case)
        tfn = getattr(F, f"{kind}_{suffix}")

        def tensors(memory_format: Any) -> tuple[Any, Any]:
            xt = torch.from_numpy(x)
            gt = torch.from_numpy(g)
            if memory_format is not None:
                xt = xt.contiguous(memory_format=memory_format)
                gt = gt.contiguous(memory_format=memory_format)
            return xt.requires_grad_(True), gt

        def make_fb(memory_format: Any) -> Callable[[], Fn]:
            def make() -> Fn:
                xt, gt = tensors(memory_format)

                def run() -> Any:
                    out = tfn(xt, k, s, p)
                    return torch.autograd.grad(out, xt, gt)[0]

                return run

            return make

        def make_b(memory_format: Any) -> Callable[[], Fn]:
            def make() -> Fn:
                xt, gt = tensors(memory_format)
                out = tfn(xt, k, s, p)
                return lambda: torch.autograd.grad(out, xt, gt, retain_graph=True)[0]

            return make

        for key, f in (("torch", None), ("torch_cl", fmt)):
            usable = key == "torch" or f is not None
            comps += [_Competitor(key, _FWDBWD, make_fb(f) if usable else None),
                      _Competitor(key, _BWD, make_b(f) if usable else None)]
    else:
        comps += [_Competitor(key, mode, None)
                  for key in ("torch", "torch_cl") for mode in (_FWDBWD, _BWD)]

    if kind == "max":
        def np_fb() -> Any:
            _, arg = numpy_max_pool_argmax(x, nd, k, s, p)
            return numpy_max_pool_backward(g, arg, x.shape, nd, k, s, p)

        def make_np_b() -> Fn:
            _, arg = numpy_max_pool_argmax(x, nd, k, s, p)
            return lambda: numpy_max_pool_backward(g, arg, x.shape, nd, k, s, p)
    else:
        def np_fb() -> Any:
            numpy_avg_pool(x, nd, k, s, p)
            return numpy_avg_pool_backward(g, x.shape, nd, k, s, p)

        def make_np_b() -> Fn:
            return lambda: numpy_avg_pool_backward(g, x.shape, nd, k, s, p)

    comps += [_Competitor("numpy", _FWDBWD, lambda: np_fb), _Competitor("numpy", _BWD, make_np_b)]
    comps += [_Competitor(key, mode, None)
              for key in ("ort", "skimage") for mode in (_FWDBWD, _BWD)]
    comps.append(_Competitor("copy", _BWD, lambda: _copy_fn(case, threads)))
    return comps


# --------------------------------------------------------------------------------------------
# Checking against PyTorch.
# --------------------------------------------------------------------------------------------


def _to_numpy(r: Any) -> np.ndarray:
    if hasattr(r, "detach"):
        r = r.detach().numpy()
    return np.asarray(r)


def _compare(got: np.ndarray, want: np.ndarray, exact: bool) -> tuple[bool, str]:
    """(passed, description) of ``got`` against the reference ``want``."""
    if got.shape != want.shape:
        return False, f"shape {got.shape} != {want.shape}"
    if np.array_equal(got, want):
        return True, "identical"
    diff = float(np.max(np.abs(got.astype(np.float64) - want)))
    if exact:
        return False, f"differs (max abs diff {diff:.3g})"
    ok = bool(np.allclose(got, want, rtol=1e-5, atol=1e-6))
    return ok, f"{'close' if ok else 'NOT close'} (max abs diff {diff:.3g})"


def _check(
    libs: _Libs, op: str, case: Case, x: np.ndarray, g: np.ndarray | None,
    outputs: dict[tuple[str, str], Any],
) -> dict[str, Any]:
    """Compare every competitor's first-call output with PyTorch NCHW's.

    poolnd must be identical for max and adaptive max (values, indices and, for
    non-overlapping windows, the gradient) and close otherwise; a competitor's mismatch is
    reported, never fatal.
    """
    report: dict[str, Any] = {"poolnd_ok": True, "details": {}}
    if libs.torch is None:
        report["details"]["all"] = "skipped: torch not available"
        return report
    kind = op.removesuffix("_bwd")
    overlapping = case.stride < case.kernel
    for (key, mode), r in outputs.items():
        ref = outputs.get(("torch", mode))
        if key in ("torch", "copy") or ref is None:
            continue
        ours = key in ("poolnd", "poolnd_cl")
        exact = ours and (
            kind == "adaptive_max" or (kind == "max" and (mode == _FWD or not overlapping)))
        got = _to_numpy(r)
        if key == "poolnd_cl":
            got = np.moveaxis(got, -1, 1)
        ok, text = _compare(got, _to_numpy(ref), exact)
        report["details"][f"{key} {mode}"] = text
        if ours and not ok:
            report["poolnd_ok"] = False
    if op in ("max", "adaptive_max"):
        torch = libs.torch
        fn = _poolnd_fn(op, case.ndim)
        tfn = getattr(torch.nn.functional, f"{op}_pool{case.ndim}d")
        params: tuple[Any, ...] = (
            (case.kernel, case.stride, case.padding) if op == "max" else (case.output_size,))
        _, idx = fn(x, *params, return_indices=True)
        _, tidx = tfn(torch.from_numpy(x), *params, return_indices=True)
        ok, text = _compare(idx, tidx.numpy(), exact=True)
        report["details"]["poolnd indices"] = text
        report["poolnd_ok"] &= ok
    return report


# --------------------------------------------------------------------------------------------
# Timing.
# --------------------------------------------------------------------------------------------


def _first_calls(comps: list[_Competitor], keep: bool) -> dict[tuple[str, str], Any]:
    """Build each competitor and time its first call; return the outputs if ``keep``."""
    outputs: dict[tuple[str, str], Any] = {}
    for c in comps:
        if c.make is None:
            continue
        try:
            c.fn = c.make()
            t0 = time.perf_counter()
            r = c.fn()
            c.first_ms = (time.perf_counter() - t0) * 1e3
        except Exception as exc:  # a broken competitor becomes n/a, with the reason kept
            c.fn, c.error = None, f"{type(exc).__name__}: {exc}"
            print(f"    {c.key} ({c.mode}) failed: {c.error}", file=sys.stderr)
            continue
        if keep:
            outputs[(c.key, c.mode)] = r
        del r
    return outputs


def _rounds(
    comps: list[_Competitor], repeat: int | None, budget: float, min_rounds: int
) -> int:
    """Time all runnable competitors in rounds, each round in a fresh seeded random order;
    return the number of rounds.

    With ``repeat`` run exactly that many rounds; otherwise run at least ``min_rounds`` and
    at most 100, stopping once ``budget`` seconds have been spent.
    """
    live = [c for c in comps if c.fn is not None]
    if not live:
        return 0
    start = time.perf_counter()
    rounds = 0
    shuffler = random.Random(0)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        while True:
            if repeat is not None:
                if rounds >= repeat:
                    break
            elif rounds >= 100 or (
                rounds >= min_rounds and time.perf_counter() - start >= budget
            ):
                break
            # a fresh order each round: a fixed cyclic order would always run the same
            # competitor right after another that shares its input, in a warm cache
            order = live[:]
            shuffler.shuffle(order)
            for c in order:
                assert c.fn is not None
                t0 = time.perf_counter()
                r = c.fn()
                c.times_ms.append((time.perf_counter() - t0) * 1e3)
                del r
            rounds += 1
    finally:
        if gc_was_enabled:
            gc.enable()
    return rounds


def _loadavg() -> float | None:
    """The 1-minute load average (this process included), None where unknown."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


# --------------------------------------------------------------------------------------------
# Settings, machine info, output.
# --------------------------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _set_threads(libs: _Libs, threads: int) -> dict[str, Any]:
    """Apply ``threads`` to torch and poolnd; return what each now uses."""
    import poolnd

    info: dict[str, Any] = {"requested": threads}
    # the first call compiles in the calling thread, so that it shows the compilation and
    # every timed round runs the compiled kernels (poolnd.set_compile_mode)
    if hasattr(poolnd, "set_compile_mode"):
        poolnd.set_compile_mode("wait")
    # poolnd's helper threads spin for about 0.1 ms for the next launch before they sleep
    # (poolnd._kernels.spin); the other pools are told not to spin (onnxruntime's session,
    # OMP_WAIT_POLICY for torch), so here they sleep at once too, and the next competitor
    # in a round has both cores. The caller's own spin, waiting for its last chunk, stays.
    tuning = getattr(poolnd, "_threads", None)
    if tuning is not None and hasattr(tuning, "HELPER_SPIN_TICKS"):
        tuning.HELPER_SPIN_TICKS = 0
    if libs.torch is not None:
        libs.torch.set_num_threads(threads)
        info["torch"] = libs.torch.get_num_threads()
    setter = getattr(poolnd, "set_num_threads", None)
    getter = getattr(poolnd, "get_num_threads", None)
    if setter is None:
        info["poolnd"] = "no poolnd.set_num_threads"
    else:
        try:
            setter(threads)
        except Exception as exc:  # e.g. more than NUMBA_NUM_THREADS
            print(f"warning: poolnd.set_num_threads({threads}) failed: {exc}", file=sys.stderr)
        info["poolnd"] = getter() if getter is not None else threads
    info["onnxruntime"] = threads if libs.ort is not None else None
    info["numpy, skimage"] = 1
    info["copy"] = threads
    return info


def _machine(libs: _Libs, threads: dict[str, Any]) -> dict[str, Any]:
    try:
        affinity: int | None = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    return {
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": affinity,
        "versions": {
            name: _version(name)
            for name in ("poolnd", "numpy", "numba", "torch", "onnxruntime", "onnx",
                         "scikit-image")
        },
        "threads": threads,
        "loadavg_1min_at_start": _loadavg(),
        "env": {k: os.environ[k] for k in ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS",
                                           "MKL_NUM_THREADS", "OMP_WAIT_POLICY")
                if k in os.environ},
    }


def _fmt_ms(v: float | None) -> str:
    if v is None:
        return "n/a"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _fmt_ratio(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.2f}"


def _geomean(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None and v > 0]
    return math.exp(sum(map(math.log, vals)) / len(vals)) if vals else None


def _tables(results: list[dict[str, Any]]) -> str:
    """One Markdown table per (op, mode), in the order the results came."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["op"], r["mode"]), []).append(r)
    parts: list[str] = []
    for (op, mode), rows in groups.items():
        columns = [(key, title) for key, title in COLUMNS
                   if op not in _NEW_OPS or key in _NEW_OP_COLUMNS]
        heads = ["case", "poolnd ms", "first call (compile) ms",
                 *(f"{title} ms" for key, title in columns if key != "poolnd"),
                 "poolnd/ort", "speed-up vs torch NCHW", "efficiency (copy/poolnd)"]
        lines = [f"### {op}: {mode}", "", "| " + " | ".join(heads) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(heads) - 1)) + "|"]
        for r in rows:
            med = r["median_ms"]
            cells = [r["case"], _fmt_ms(med.get("poolnd")),
                     _fmt_ms(r["first_call_ms"].get("poolnd"))]
            cells += [_fmt_ms(med.get(key)) for key, _ in columns if key != "poolnd"]
            cells += [_fmt_ratio(r["ratios"]["poolnd/ort"]),
                      _fmt_ratio(r["ratios"]["torch/poolnd"]),
                      _fmt_ratio(r["ratios"]["copy/poolnd"])]
            lines.append("| " + " | ".join(cells) + " |")
        gm_ort = _geomean([r["ratios"]["poolnd/ort"] for r in rows])
        gm_torch = _geomean([r["ratios"]["torch/poolnd"] for r in rows])
        gm_copy = _geomean([r["ratios"]["copy/poolnd"] for r in rows])
        blanks = [""] * (len(heads) - 4)
        lines.append("| " + " | ".join(["*geometric mean*", *blanks, _fmt_ratio(gm_ort),
                                         _fmt_ratio(gm_torch), _fmt_ratio(gm_copy)]) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


# --------------------------------------------------------------------------------------------
# Driver.
# --------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="poolnd bench",
        description="Time poolnd against PyTorch (NCHW and channels-last), onnxruntime, "
                    "NumPy strided passes and skimage.measure.block_reduce, interleaved "
                    "in rounds of random order, and print one Markdown table of medians per op.",
    )
    p.add_argument("--quick", action="store_true",
                   help="smoke test: batch / 8, at least 3 rounds, budget 0.1 s")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="exactly N rounds per case and op (default: at least 5, or 3 with "
                        "--quick, and at most 100, until --budget seconds are spent)")
    p.add_argument("--budget", type=float, metavar="S",
                   help="seconds of rounds per case and op when --repeat is not given "
                        "(default 3, or 0.1 with --quick)")
    p.add_argument("--threads", type=int, default=2, metavar="N",
                   help="threads for poolnd, torch and onnxruntime (default 2)")
    p.add_argument("--cases", metavar="SUBSTRING",
                   help="only cases whose name contains SUBSTRING, e.g. '28x28' or '3d'")
    p.add_argument("--ops", default=",".join(OPS), metavar="LIST",
                   help=f"comma-separated op kinds among {','.join(OPS)} (default all)")
    p.add_argument("--json", metavar="PATH",
                   help="write raw timings, medians, ratios and machine info to PATH")
    p.add_argument("--check", action="store_true",
                   help="verify outputs against torch NCHW before timing (poolnd: exact "
                        "for max and adaptive max values/indices, close for averages, LP "
                        "and gradients)")
    p.add_argument("--list", action="store_true",
                   help="list the cases (with the selected ops that run on each) and exit")
    return p


def _run_op(
    libs: _Libs, op: str, case: Case, x: np.ndarray, args: argparse.Namespace,
    repeat: int | None,
) -> list[dict[str, Any]]:
    """Time one (case, op); return one result record per mode."""
    g = None
    if op.endswith("_bwd"):
        g = np.random.default_rng(1).standard_normal(case.out_shape, dtype=np.float32)
        comps = _backward_competitors(libs, op, case, x, g, args.threads)
    elif op in _NEW_OPS:
        comps = _new_op_competitors(libs, op, case, x, args.threads)
    else:
        comps = _forward_competitors(libs, op, case, x, args.threads)
    outputs = _first_calls(comps, keep=args.check)
    check = _check(libs, op, case, x, g, outputs) if args.check else None
    outputs.clear()
    gc.collect()
    t0 = time.perf_counter()
    n = _rounds(comps, repeat, args.budget, 3 if args.quick else 5)
    print(f"    {n} rounds in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if check is not None:
        for name, text in check["details"].items():
            print(f"    check {name}: {text}", file=sys.stderr)

    modes = [_FWD] if not op.endswith("_bwd") else [_FWDBWD, _BWD]
    records = []
    for mode in modes:
        mine = {c.key: c for c in comps if c.mode == mode or (c.key == "copy")}
        med = {key: _median(c.times_ms) for key, c in mine.items()}
        if case.output_size is not None:
            geometry: dict[str, Any] = {"output_size": case.output_size}
        else:
            geometry = {"kernel": case.kernel, "stride": case.stride, "padding": case.padding}
        if op == "lp":
            geometry["norm_type"] = LP_NORM
        records.append({
            "case": case.name, "op": op, "mode": mode,
            "shape": list(case.shape), "out_shape": list(case.out_shape),
            **geometry,
            "rounds": n,
            "times_ms": {key: c.times_ms for key, c in mine.items()},
            "first_call_ms": {key: c.first_ms for key, c in mine.items()},
            "median_ms": med,
            "ratios": {"poolnd/ort": _ratio(med.get("poolnd"), med.get("ort")),
                       "torch/poolnd": _ratio(med.get("torch"), med.get("poolnd")),
                       "copy/poolnd": _ratio(med.get("copy"), med.get("poolnd"))},
            "errors": {key: c.error for key, c in mine.items() if c.error},
            "check": check,
            "loadavg_1min": _loadavg(),
        })
    for c in comps:
        c.fn = c.make = None
    del comps
    gc.collect()
    return records


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark with command-line arguments ``argv``; return the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments after ``poolnd bench`` (default ``sys.argv[1:]``); ``--help`` lists them.

    Returns
    -------
    int
        0 on success, 1 if a poolnd call raised or ``--check`` found poolnd differing
        from PyTorch, 2 on a usage error.
    """
    parser = _parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already reported
        return exc.code if isinstance(exc.code, int) else 2
    ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    bad = [o for o in ops if o not in OPS]
    if bad or not ops:
        parser.print_usage(sys.stderr)
        print(f"poolnd bench: error: --ops takes some of {','.join(OPS)}; got {args.ops!r}",
              file=sys.stderr)
        return 2
    if args.threads < 1 or (args.repeat is not None and args.repeat < 1):
        print("poolnd bench: error: --threads and --repeat must be positive", file=sys.stderr)
        return 2
    # Each case once (in CASES, ADAPTIVE_CASES, LP_CASES order) with the selected ops that
    # run on it; an op none of whose cases matches --cases is skipped.
    plan: list[tuple[Case, list[str]]] = []
    for base in dict.fromkeys(c for op in OPS for c in OP_CASES[op]):
        case = base.shrunk() if args.quick else base
        here = [op for op in ops if base in OP_CASES[op]]
        if here and (not args.cases or args.cases in case.name):
            plan.append((case, here))
    if args.list:
        print("\n".join(f"{case.name}  ({','.join(here)})" for case, here in plan))
        return 0
    if not plan:
        print(f"poolnd bench: error: no case of {','.join(ops)} matches {args.cases!r}",
              file=sys.stderr)
        return 2
    repeat = args.repeat
    if args.budget is None:
        args.budget = 0.1 if args.quick else 3.0

    libs = _Libs.load()
    threads = _set_threads(libs, args.threads)
    machine = _machine(libs, threads)
    missing = [n for n, m in (("torch", libs.torch), ("onnxruntime", libs.ort),
                              ("onnx", libs.onnx), ("scikit-image", libs.skimage_measure))
               if m is None]
    if missing:
        print(f"note: not installed, shown as n/a: {', '.join(missing)}", file=sys.stderr)

    results: list[dict[str, Any]] = []
    failed = False
    total = sum(len(here) for _, here in plan)
    step = 0
    for case, here in plan:
        x = np.random.default_rng(0).standard_normal(case.shape, dtype=np.float32)
        for op in here:
            step += 1
            print(f"[{step}/{total}] {op} {case.name}", file=sys.stderr, flush=True)
            records = _run_op(libs, op, case, x, args, repeat)
            if records[0]["check"] is not None and not records[0]["check"]["poolnd_ok"]:
                failed = True
            if any("poolnd" in r["errors"] for r in records):
                failed = True
            results += records
        del x
        gc.collect()

    # Tables grouped by op in --ops order, cases in OP_CASES order within each.
    results.sort(key=lambda r: (ops.index(r["op"]), r["mode"] == _BWD))
    header = (
        f"poolnd bench: {machine['cpu']}, {machine['cpus_usable']} usable CPUs, "
        f"threads {args.threads} (poolnd {threads.get('poolnd')}, torch "
        f"{threads.get('torch')}), median ms of "
        f"{repeat or f'>= {3 if args.quick else 5} (budget {args.budget} s)'} "
        "interleaved rounds"
    )
    if "OMP_WAIT_POLICY" not in os.environ and libs.torch is not None:
        header += (
            "\nnote: OMP_WAIT_POLICY is not set, so torch's OpenMP threads spin after each "
            "call and can slow the competitor that runs next; OMP_WAIT_POLICY=PASSIVE stops "
            "that, as allow_spinning=0 does for onnxruntime (see benchmarks/README.md)"
        )
    print(header + "\n")
    print(_tables(results))
    loads = [r["loadavg_1min"] for r in results if r["loadavg_1min"] is not None]
    cpus = machine["cpus_usable"] or machine["cpu_count"] or 1
    if loads and statistics.median(loads) > cpus:
        print(f"\nwarning: the 1-minute load average was {statistics.median(loads):.1f} "
              f"(median over cases) on {cpus} usable CPUs. Other processes were competing, "
              "which penalises multi-threaded competitors most (a descheduled thread stalls "
              "the whole parallel region for a scheduler tick): rerun on a quiet machine"
              + (", or with --threads 1." if args.threads > 1 else "."))
    if failed:
        print("\npoolnd failed or (with --check) differs from PyTorch: see the messages above")
    if args.json:
        payload = {"machine": machine,
                   "settings": {k: v for k, v in vars(args).items()} | {"repeat": repeat},
                   "results": results}
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(payload, f, indent=1)
        print(f"\nwrote {args.json}", file=sys.stderr)
    return 1 if failed else 0
