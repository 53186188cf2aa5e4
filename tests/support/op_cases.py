"""One call of every registered poolnd op, shared by the backend and Dask tests.

Each case builds a NumPy input (and any other array argument, such as unpooling's indices
or fractional pooling's samples) from a generator; the tests run the same call on another
library's arrays, or on Dask arrays, and compare with the NumPy path's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import poolnd

F = poolnd.functional


@dataclass(frozen=True)
class Case:
    """``fn(x, *args, **kwargs)`` on an input of ``shape``; ``arrays(x, rng)`` adds array
    keyword arguments; ``grad``: whether `poolnd.vjp` applies."""

    id: str
    fn: Callable[..., Any]
    shape: tuple[int, ...]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    arrays: Callable[[np.ndarray, np.random.Generator], dict[str, np.ndarray]] | None = None
    grad: bool = True
    unpool_of: tuple[int, ...] | None = None  # unpooling: the shape max-pooled (kernel 2)

    def build(self, rng: np.random.Generator, dtype: Any = np.float32
              ) -> tuple[np.ndarray, dict[str, Any]]:
        """The input and the keyword arguments (the case's, plus its arrays)."""
        kwargs = dict(self.kwargs)
        if self.unpool_of is not None:  # max pooling's values and indices
            source = rng.standard_normal(self.unpool_of).astype(dtype)
            nd = len(self.unpool_of) - 2
            x, kwargs["indices"] = poolnd.max_pool(source, 2, ndim=nd, return_indices=True)
            return x, kwargs
        x = rng.standard_normal(self.shape).astype(dtype)
        if self.arrays is not None:
            kwargs.update(self.arrays(x, rng))
        return x, kwargs


def _samples(n: int, c: int, nd: int) -> Callable[..., dict[str, np.ndarray]]:
    def arrays(x: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return {"_random_samples": rng.random((n, c, nd)).astype(x.dtype)}
    return arrays


S1, S2, S3 = (2, 3, 11), (2, 3, 9, 8), (1, 2, 5, 6, 7)

CASES = [
    Case("max_pool1d", F.max_pool1d, S1, (3, 2, 1), {"return_indices": True}),
    Case("max_pool2d", F.max_pool2d, S2, (3, 2, 1, 1, True), {"return_indices": True}),
    Case("max_pool2d-cl", F.max_pool2d, (2, 9, 8, 3), (2,),
         {"return_indices": True, "channels_last": True}),
    Case("max_pool3d", F.max_pool3d, S3, (2,), {"return_indices": True}),
    Case("avg_pool1d", F.avg_pool1d, S1, (3, 2, 1, True)),
    Case("avg_pool2d", F.avg_pool2d, S2, (3, 2, 1), {"count_include_pad": False}),
    Case("avg_pool3d", F.avg_pool3d, S3, (2, 1), {"divisor_override": 3}),
    Case("lp_pool1d", F.lp_pool1d, S1, (2, 3, 2)),
    Case("lp_pool2d", F.lp_pool2d, S2, (3, 2), {"ceil_mode": True}),
    Case("lp_pool3d", F.lp_pool3d, S3, (2, 2)),
    Case("adaptive_max_pool1d", F.adaptive_max_pool1d, S1, (4,), {"return_indices": True}),
    Case("adaptive_max_pool2d", F.adaptive_max_pool2d, S2, ((4, 3),), {"return_indices": True}),
    Case("adaptive_max_pool3d", F.adaptive_max_pool3d, S3, ((2, 3, 4),)),
    Case("adaptive_avg_pool1d", F.adaptive_avg_pool1d, S1, (4,)),
    Case("adaptive_avg_pool2d", F.adaptive_avg_pool2d, S2, ((4, 5),)),
    Case("adaptive_avg_pool3d", F.adaptive_avg_pool3d, S3, (1,)),
    Case("fractional_max_pool2d", F.fractional_max_pool2d, S2, (2,),
         {"output_size": (4, 4), "return_indices": True}, _samples(2, 3, 2)),
    Case("fractional_max_pool3d", F.fractional_max_pool3d, (1, 2, 7, 7, 7), (2,),
         {"output_size": (3, 3, 3)}, _samples(1, 2, 3)),
    Case("max_unpool1d", F.max_unpool1d, (2, 3, 5), (), {"kernel_size": 2},
         unpool_of=(2, 3, 10)),
    Case("max_unpool2d", F.max_unpool2d, (2, 3, 4, 4), (), {"kernel_size": 2,
                                                           "output_size": (9, 8)},
         unpool_of=(2, 3, 9, 8)),
    Case("max_unpool3d", F.max_unpool3d, (1, 2, 2, 3, 3), (), {"kernel_size": 2},
         unpool_of=(1, 2, 4, 6, 6)),
    Case("max_pool-4d", poolnd.max_pool, (1, 2, 4, 5, 4, 4), ((2, 2, 2, 2),),
         {"return_indices": True, "padding": 1}),
    Case("avg_pool-same", poolnd.avg_pool, (2, 2, 7, 5), ((3, 2),),
         {"stride": 2, "padding": "same"}),
    Case("min_pool-pairs", poolnd.min_pool, S2, ((3, 3),),
         {"stride": 2, "padding": ((0, 1), (2, 0)), "return_indices": True}),
    Case("sum_pool", poolnd.sum_pool, S2, ((2, 2),), {"dilation": 2}),
    Case("pool-mean", poolnd.pool, S2, ("mean", (3, 3)), {"dilation": 2, "padding": 1}),
    Case("pool-ufunc", poolnd.pool, S2, (np.multiply, (2, 3)), {"stride": 1}, grad=False),
    Case("blur_pool1d", F.blur_pool1d, S1),
    Case("blur_pool2d", F.blur_pool2d, S2, ("zero", 3, 2, 1)),
    Case("max_blur_pool1d", F.max_blur_pool1d, S1, ("replicate",)),
    Case("max_blur_pool2d", F.max_blur_pool2d, (2, 9, 8, 3), (), {"channels_last": True}),
    Case("global_max_pool", poolnd.global_max_pool, (2, 3, 5, 6)),
    Case("global_avg_pool", poolnd.global_avg_pool, (2, 3, 5, 6), (), {"keepdims": True}),
    Case("global_lp_pool", poolnd.global_lp_pool, (2, 3, 5, 6), (3.0,)),
]


def values_of(out: Any) -> Any:
    """The values of a result that may be ``(values, indices)``."""
    return out[0] if isinstance(out, tuple) else out


def as_tuple(out: Any) -> tuple[Any, ...]:
    return out if isinstance(out, tuple) else (out,)
