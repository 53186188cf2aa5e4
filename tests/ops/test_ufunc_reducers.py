"""Issue 17, item 1: every binary ufunc with an identity pools every dtype it has a loop for
(unsigned ones included: np.bitwise_and's identity -1 is all ones), each window equal to
``ufunc.reduce`` over its input cells from the identity."""

from __future__ import annotations

import numpy as np
import pytest
from window_reference import inside_cells, window_of

import poolnd

# the dtypes poolnd pools, by type character
_CHARS = {"?": np.bool_, "b": np.int8, "B": np.uint8, "h": np.int16, "H": np.uint16,
          "i": np.int32, "I": np.uint32, "l": np.int64, "L": np.uint64, "q": np.int64,
          "Q": np.uint64, "e": np.float16, "f": np.float32, "d": np.float64}


def _cases():
    ufuncs = [getattr(np, n) for n in dir(np) if isinstance(getattr(np, n), np.ufunc)]
    for u in sorted(set(ufuncs), key=lambda u: u.__name__):
        if u.nin != 2 or u.nout != 1 or u.identity is None or u in (np.maximum, np.minimum):
            continue
        chars = sorted({t[0] for t in u.types if t[0] == t[1] and t[0] in _CHARS})
        for c in dict.fromkeys(np.dtype(_CHARS[c]).char for c in chars):
            yield pytest.param(u, np.dtype(c), id=f"{u.__name__}-{np.dtype(c).name}")


def _values(dtype: np.dtype, shape, rng) -> np.ndarray:
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(max(info.min, -9), min(info.max, 9), shape, endpoint=True,
                            dtype=dtype)
    return rng.uniform(-2, 2, shape).astype(dtype)


@pytest.mark.parametrize(("ufunc", "dtype"), list(_cases()))
def test_ufunc_reducer_is_reduce_over_each_window(ufunc, dtype, rng):
    x = _values(dtype, (1, 2, 5, 4), rng)
    kwargs = {"kernel_size": (2, 3), "stride": (2, 1), "padding": ((1, 0), (1, 1)),
              "dilation": (1, 1), "ceil_mode": True}
    got = poolnd.pool(x, ufunc, **kwargs)
    out_dtype = ufunc.resolve_dtypes((dtype, dtype, None))[-1]
    assert got.dtype == out_dtype
    win = window_of(x, kwargs, 2)
    with np.errstate(all="ignore"):
        # (NumPy's reduce of no cells is the identity in the dtype: all ones for bitwise_and)
        want = np.array([ufunc.reduce(c, dtype=out_dtype) for c in inside_cells(x, win)],
                        dtype=out_dtype).reshape(got.shape)
    if dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=2e-3 if dtype == np.float16 else 1e-6)
    else:
        np.testing.assert_array_equal(got, want)


def test_bitwise_and_on_unsigned_padding_is_all_ones():
    x = np.array([[12, 10, 255, 7]], np.uint8)
    got = poolnd.pool(x, np.bitwise_and, (2,), padding=((1, 1),))
    np.testing.assert_array_equal(got, [[12, 10 & 255, 7]])
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(poolnd.pool(x.astype(np.uint64), np.bitwise_and, (4,)),
                                  [[12 & 10 & 255 & 7]])
