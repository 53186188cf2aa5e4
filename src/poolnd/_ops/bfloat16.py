"""bfloat16 input (``ml_dtypes.bfloat16``: JAX's, PyTorch's and TensorFlow's bfloat16 as
NumPy holds it), computed as PyTorch's CPU kernels compute it.

PyTorch's CPU pooling kernels for bfloat16 read each cell as float32, accumulate in float32
and round each result to bfloat16 once; max and min are exact (every bfloat16 is a
float32). Their backward passes work in bfloat16 itself: each addition into the input
gradient is rounded to bfloat16, cells receiving their terms in output raster order, and an
average's share is ``grad / divisor`` rounded to bfloat16 (the divisor too: C++'s
``BFloat16 / int64_t`` converts the int to bfloat16).

Two ways serve this:

* The ops PyTorch has (max, min, average, LP, adaptive and fractional max pooling, max
  unpooling) take bfloat16 themselves: `widen` hands their forward kernels float32 and
  `narrow` rounds the result (3d adaptive averaging excepted: PyTorch's 3d kernel sums in
  bfloat16, and so does poolnd there), while their pullbacks run in bfloat16 on the NumPy
  kernel paths, which add in the gradient's dtype in output raster order (PyTorch's bits).
  LP pooling rounds after each op of its composition (`poolnd._ops.lp`).
* `via_float32` wraps the ops PyTorch has not (sum and generic pooling): the input is read
  as float32, the float32 implementation runs, and its floating results (and gradients)
  are rounded to bfloat16 once; indices stay int64.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _args

__all__ = ["narrow", "via_float32", "widen"]


def widen(x: np.ndarray) -> np.ndarray:
    """``x`` as float32 when it is bfloat16 (exact), else ``x`` itself."""
    return x.astype(np.float32) if _args.is_bfloat16(x.dtype) else x


def narrow(a: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A float32 result of `widen`'s input rounded back to ``dtype`` when that is bfloat16
    (round to nearest even, as ``c10::BFloat16``), else ``a`` itself."""
    return a.astype(dtype) if _args.is_bfloat16(dtype) and a.dtype == np.float32 else a


def _narrow(a: Any, dtype: np.dtype) -> Any:
    if isinstance(a, tuple):
        return tuple(_narrow(b, dtype) for b in a)
    return a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype == np.float32 else a


def via_float32(impl: Callable[..., Any]) -> Callable[..., Any]:
    """Let an op implementation (``(out, pullback)``, input first) take bfloat16 input."""
    first = next(iter(inspect.signature(impl).parameters))

    @functools.wraps(impl)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        x = args[0] if args else kwargs.get(first)
        if not (isinstance(x, np.ndarray) and _args.is_bfloat16(x.dtype)):
            return impl(*args, **kwargs)
        wide = x.astype(np.float32)
        if args:
            args = (wide, *args[1:])
        else:
            kwargs[first] = wide
        out, pullback = impl(*args, **kwargs)
        out = _narrow(out, x.dtype)
        if pullback is None:
            return out, None

        def narrow_pullback(grad_output: Any) -> np.ndarray:
            g = np.asarray(grad_output)
            if _args.is_bfloat16(g.dtype):
                g = g.astype(np.float32)
            return pullback(g).astype(x.dtype)

        return out, narrow_pullback

    return wrapped
