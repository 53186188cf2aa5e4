"""bfloat16 input (``ml_dtypes.bfloat16``: JAX's, PyTorch's and TensorFlow's bfloat16 as
NumPy holds it) for the sliding-window ops, computed as PyTorch's CPU kernels compute it.

PyTorch's CPU pooling kernels for bfloat16 read each cell as float32, accumulate in float32
and round each result to bfloat16 once. `via_float32` does the same around an op
implementation: the input is read as float32, the float32 implementation runs, and its
floating results (and gradients) are rounded to bfloat16; indices stay int64. Max and min
are exact (every bfloat16 is a float32).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _args

__all__ = ["via_float32"]


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
