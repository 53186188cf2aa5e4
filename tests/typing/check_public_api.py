"""Uses of the public API that a type checker must accept, with the types it must infer.

tests/typing/test_typing.py runs mypy on this file with every ``--strict`` flag (set by the
comment below, per file, so that poolnd's own modules are read from the cache of the run that
checked them under the project's settings); the checks are in functions, so importing the
file (pytest's doctest collection) runs nothing.
"""
# mypy: disallow-any-generics, disallow-subclassing-any, disallow-untyped-calls
# mypy: disallow-untyped-defs, disallow-incomplete-defs, check-untyped-defs
# mypy: disallow-untyped-decorators, warn-return-any, no-implicit-reexport, extra-checks

from __future__ import annotations

from typing import Any, assert_type

import numpy as np
from numpy.typing import NDArray

import poolnd
import poolnd.functional as F
from poolnd import nn

x = np.zeros((2, 3, 8, 8), dtype=np.float32)
Indices = NDArray[np.int64]
F32 = NDArray[np.float32]


def numpy_in_numpy_out() -> None:
    assert_type(F.max_pool2d(x, 2), F32)
    assert_type(F.max_pool2d(x, 3, 2, 1), F32)
    assert_type(F.max_pool2d(x, (3, 3), stride=2, padding="same", ceil_mode=True), F32)
    assert_type(F.max_pool2d(x, 2, padding=((0, 1), (1, 0))), F32)
    assert_type(F.avg_pool2d(x, 2, divisor_override=3), F32)
    assert_type(F.avg_pool1d(np.zeros((3, 8), np.float32), 2), F32)
    assert_type(F.avg_pool3d(x[None], 2), F32)
    assert_type(F.adaptive_avg_pool2d(x, (None, 1)), F32)
    assert_type(F.adaptive_max_pool2d(x, 1), F32)
    assert_type(F.fractional_max_pool2d(x, 2, output_ratio=0.5), F32)
    assert_type(F.blur_pool2d(x), F32)
    assert_type(F.max_blur_pool2d(x, "zero"), F32)
    assert_type(F.max_unpool2d(x, np.zeros(x.shape, np.int64), 2), F32)
    assert_type(F.lp_pool2d(x, 2, 2), NDArray[Any])
    assert_type(poolnd.max_pool(x, (2, 2)), F32)
    assert_type(poolnd.avg_pool(x, 2, ndim=2, channels_last=True), F32)
    assert_type(poolnd.min_pool(x, (2, 2)), F32)
    assert_type(poolnd.sum_pool(x, (2, 2)), NDArray[Any])
    assert_type(poolnd.pool(x, "mean", (2, 2)), NDArray[Any])
    assert_type(poolnd.global_avg_pool(x), F32)


def indices_give_a_tuple() -> None:
    assert_type(F.max_pool2d(x, 2, return_indices=True), tuple[F32, Indices])
    assert_type(F.max_pool1d(np.zeros((3, 8), np.float32), 2, return_indices=False), F32)
    assert_type(poolnd.max_pool(x, (2, 2), return_indices=True), tuple[F32, Indices])
    assert_type(F.adaptive_max_pool3d(x[None], 1, return_indices=True), tuple[F32, Indices])
    assert_type(
        F.fractional_max_pool2d(x, 2, output_size=3, return_indices=True), tuple[F32, Indices]
    )
    values, indices = F.max_pool2d(x, 2, return_indices=True)
    assert_type(F.max_unpool2d(values, indices, 2), F32)
    flag: bool = bool(x.size)
    assert_type(F.max_pool2d(x, 2, return_indices=flag), Any)


def array_likes() -> None:
    assert_type(F.max_pool1d([[1.0, 2.0, 3.0, 4.0]], 2), NDArray[Any])
    assert_type(F.max_pool1d([[1.0, 2.0]], 2, return_indices=True), tuple[NDArray[Any], Indices])
    assert_type(F.avg_pool1d([[1.0, 2.0]], 2), NDArray[Any])


def layers() -> None:
    pool = nn.AvgPool2d(2)
    assert_type(pool(x), F32)
    assert_type(pool.backward(np.ones((2, 3, 4, 4), np.float32)), F32)
    assert_type(nn.MaxPool2d(2).forward(x), Any)


def tools() -> None:
    out, pullback = poolnd.vjp(F.max_pool2d, x, 2)
    assert_type(pullback(np.ones_like(out)), NDArray[Any])
    assert_type(poolnd.pooled_length(8, 3, 2, 1, 1), int)
    assert_type(poolnd.__version__, str)
    poolnd.set_num_threads(1)
    assert_type(poolnd.get_num_threads(), int)
