"""The lighter Numba start (`poolnd._kernels.jit`): a process's first kernel call does not
import SciPy's linear algebra, Numba's answer to "is BLAS there" is the one it would have
given, and a user's own Numba code calling BLAS afterwards compiles and runs as before.

Each check runs in a fresh interpreter: the test process has long imported Numba."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

import poolnd

SRC = str(Path(poolnd.__file__).resolve().parents[1])

_FIRST_CALL = r"""
import sys
sys.path.insert(0, {src!r})
import importlib.util
import numpy as np
import poolnd.functional as F

x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
assert F.max_pool2d(x, 2).tolist() == [[[[5.0, 7.0], [13.0, 15.0]]]]
print("scipy.linalg imported by the call:", "scipy.linalg" in sys.modules)
import numba
import numba.np.arraymath as arraymath
import numba.np.linalg as linalg
print("have blas:", arraymath._HAVE_BLAS, importlib.util.find_spec("scipy") is not None)
print("probe restored:", linalg.ensure_blas is arraymath.ensure_blas,
      linalg.ensure_blas.__module__, linalg.ensure_blas.__qualname__)

@numba.njit
def dot(a, b):
    return np.dot(a, b)

a = np.arange(6.0).reshape(2, 3)
print("user dot:", np.array_equal(dot(a, a.T), a @ a.T), "scipy.linalg" in sys.modules)
"""


def _run(code: str, tmp_path: Path) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.skipif(importlib.util.find_spec("scipy") is None, reason="needs SciPy installed")
def test_first_call_leaves_scipy_unimported_and_numba_blas_working(tmp_path):
    out = _run(_FIRST_CALL.format(src=SRC), tmp_path)
    assert "scipy.linalg imported by the call: False" in out
    assert "have blas: True True" in out
    assert "probe restored: True numba.np.linalg ensure_blas" in out
    assert "user dot: True True" in out  # the real probe ran when the user's dot compiled


def test_without_scipy_numba_is_told_there_is_no_blas(tmp_path):
    code = rf"""
import sys
sys.path.insert(0, {SRC!r})
import importlib.util
real = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "scipy" else real(name, *a)
import poolnd._kernels.jit
import numba.np.arraymath as arraymath
print("have blas:", arraymath._HAVE_BLAS)
"""
    assert "have blas: False" in _run(code, tmp_path)


def test_nothing_is_patched_when_numba_arraymath_is_already_imported(tmp_path):
    code = rf"""
import sys
sys.path.insert(0, {SRC!r})
import numba.np.arraymath as arraymath
import numba.np.linalg as linalg
before = linalg.ensure_blas
import poolnd._kernels.jit
print("same probe:", linalg.ensure_blas is before is arraymath.ensure_blas)
"""
    assert "same probe: True" in _run(code, tmp_path)


def test_a_numba_without_its_linalg_module_is_left_alone(tmp_path):
    code = rf"""
import sys
sys.path.insert(0, {SRC!r})
sys.modules["numba.np.linalg"] = None  # importing it raises ImportError
import poolnd._kernels.jit
print("imported, arraymath loaded:", "numba.np.arraymath" in sys.modules)
"""
    assert "imported, arraymath loaded: False" in _run(code, tmp_path)
