"""The background compiler (`poolnd.set_compile_mode`): on a cold Numba cache the first calls
answer with the NumPy forms (the same bits) while the kernel compiles on a thread of its own;
later calls run the compiled kernel; the interpreter's exit lets a compilation in flight
finish and save its cache file. On a warm cache the first call loads the kernel and runs it.
Processes sharing a cache compile a signature once between them (`compiler.compile_shared`).
The scripts use the 2-wide tile kernels, the quickest to compile (about a second each, against
six or seven for the row and phase kernels): the mechanism is the same for every kernel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import poolnd

SRC = str(Path(poolnd.__file__).resolve().parents[1])

_SCRIPT = r"""
import sys, time
sys.path.insert(0, {src!r})
import numpy as np
import poolnd
from poolnd._kernels import compiler
from poolnd._kernels.sliding import _tile_kernels

assert poolnd.get_compile_mode() == "background"
x = np.random.default_rng(0).standard_normal((2, 3, 500), dtype=np.float32)
first = poolnd.functional.max_pool1d(x, 2)
queued = compiler._worker is not None  # the kernel was not ready: a compile is under way
compiler.drain()
form = _tile_kernels().BLOCK_MAX2
compiled_before = len(form.body.overloads)
second = poolnd.functional.max_pool1d(x, 2)
poolnd.set_compile_mode("wait")
third = poolnd.functional.max_pool1d(x, 2)
same = first.tobytes() == second.tobytes() == third.tobytes()
print("ok", queued, compiled_before, same)
# a second kernel, whose compilation is under way as the script ends: the exit waits for it
poolnd.set_compile_mode("background")
poolnd.functional.avg_pool1d(x, 2)
time.sleep(0.2)  # the compiling thread has taken it from the queue (it takes a second)
"""


_WARM_SCRIPT = r"""
import sys
sys.path.insert(0, {src!r})
import numpy as np
import poolnd
from poolnd._kernels import compiler
from poolnd._kernels.sliding import _tile_kernels

x = np.random.default_rng(0).standard_normal((2, 3, 500), dtype=np.float32)
poolnd.functional.max_pool1d(x, 2)
body = _tile_kernels().BLOCK_MAX2.body
print("ok", compiler._worker is None, len(body.overloads), sum(body.stats.cache_hits.values()))
"""


def _run(tmp_path: Path, script: str = _SCRIPT) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("POOLND_COMPILE", None)  # the default mode
    return subprocess.run([sys.executable, "-c", script.format(src=SRC)], env=env,
                          capture_output=True, text=True, timeout=600)


def test_a_cold_first_call_answers_from_numpy_while_the_kernel_compiles(tmp_path):
    done = _run(tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["ok", "True", "1", "True"]
    # the exit let the compilation in flight finish: the sum kernel's cache file is there
    saved = {p.name.split("-")[0] for p in tmp_path.rglob("*.nbi")}
    assert "numba_tiles._block_max2_chunk" in saved
    assert "numba_tiles._block_sum_chunk" in saved  # (250-wide output rows: the general sum)
    # a new process on that cache: the first call loads the kernel and runs it, no compile
    warm = _run(tmp_path, _WARM_SCRIPT)
    assert warm.returncode == 0, warm.stderr[-3000:]
    assert warm.stdout.split() == ["ok", "True", "1", "1"]


_TOY = """
import numba

@numba.njit(cache=True)
def twice(a):
    return a * 2
"""

_SHARED_SCRIPT = r"""
import sys
sys.path[:0] = [{src!r}, {toy!r}]
import numba
from poolnd._kernels import compiler
import toy
signature = (numba.int64,)
before = compiler.in_cache(toy.twice, signature)
compiler.compile_shared(toy.twice, signature)
print(before, toy.twice(21), sum(toy.twice.stats.cache_hits.values()),
      len(toy.twice.stats.cache_misses))
"""


def test_processes_sharing_a_cache_compile_a_signature_once(tmp_path):
    (tmp_path / "toy").mkdir()
    (tmp_path / "toy" / "toy.py").write_text(_TOY)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    script = _SHARED_SCRIPT.format(src=SRC, toy=str(tmp_path / "toy"))
    runs = [subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [run.communicate(timeout=600) for run in runs]
    assert all(run.returncode == 0 for run in runs), [err[-2000:] for _, err in outs]
    lines = sorted(out.split() for out, _ in outs)
    # one process compiled it (a miss), the others waited on its lock and loaded it (hits)
    assert [line[1:] for line in lines] == [["42", "0", "1"], ["42", "1", "0"], ["42", "1", "0"]]
    assert [line[0] for line in lines if line[3] == "1"] == ["False"]  # not there before
    assert list((tmp_path / "cache").rglob("poolnd-*.lock"))
    # a process started after them finds it in the cache before compiling anything
    late = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=600)
    assert late.stdout.split() == ["True", "42", "1", "0"], late.stderr[-2000:]


def test_compile_mode_round_trip_and_bad_mode():
    before = poolnd.get_compile_mode()
    try:
        poolnd.set_compile_mode("background")
        assert poolnd.get_compile_mode() == "background"
        poolnd.set_compile_mode("wait")
        assert poolnd.get_compile_mode() == "wait"
        with pytest.raises(ValueError, match=r"set_compile_mode\(\): mode must be "
                                             r"'background' or 'wait'; got 'later'"):
            poolnd.set_compile_mode("later")
    finally:
        poolnd.set_compile_mode(before)
