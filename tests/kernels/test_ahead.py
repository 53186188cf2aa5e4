"""The prefetch intrinsics (`numba_ahead`): they emit LLVM's prefetch, to L2, for reading
or writing, and change no value, whatever the range."""

from __future__ import annotations

import re

import numba as nb
import numpy as np
import pytest
from numba.core.errors import TypingError

from poolnd._kernels.sliding import numba_ahead as A


@nb.njit
def _read(a, lo, hi):  # pragma: no cover - compiled
    A.PREFETCH_READ(a, lo, hi)


@nb.njit
def _write(a, lo, hi):  # pragma: no cover - compiled
    A.PREFETCH_WRITE(a, lo, hi)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64])
@pytest.mark.parametrize("which", [_read, _write])
def test_prefetches_change_nothing(dtype, which):
    a = np.arange(1000).astype(dtype)
    before = a.copy()
    for lo, hi in [(0, 1000), (3, 4), (500, 999), (10, 10), (900, 100), (0, 0)]:
        which(a, lo, hi)
    np.testing.assert_array_equal(a, before)


@pytest.mark.parametrize(("which", "rw"), [(_read, 0), (_write, 1)])
def test_each_is_llvm_prefetch_to_l2(which, rw):
    which(np.zeros(64, np.float32), 0, 64)
    ir = which.inspect_llvm(which.signatures[0])
    calls = re.findall(r"call void @llvm\.prefetch\.p0\w*\([^,]+, i32 (\d), i32 (\d), "
                       r"i32 (\d)\)", ir)
    assert calls and all(c == (str(rw), "2", "1") for c in calls)


def test_not_an_array_is_refused():
    with pytest.raises(TypingError):
        _read(3.0, 0, 1)
