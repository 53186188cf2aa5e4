"""pytest configuration: Hypothesis profile and shared fixtures.

The test files live in one folder per layer (ops, nn, kernels, dispatch, robustness,
conformance, cli); the helpers and slow references they share are in ``support/``, put on
``sys.path`` here so that every test file imports them as ``from helpers import ...``.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

# Kernels compile in the calling thread during the tests (``POOLND_COMPILE=wait``, also for
# the subprocesses the tests start): each test then runs the kernel form it selects, not
# the NumPy form a background compilation would stand in with (the same bits, but a test of
# a compiled form must run that form). tests/kernels/test_background_compile.py sets the
# default, background mode, where it tests it.
os.environ["POOLND_COMPILE"] = "wait"

# PyTorch's OpenMP threads spin for a while after each parallel region by default; with one
# test worker per core (pytest-xdist) that spinning takes the core another worker needs, and
# the suite ran twice as long (measured on 2 cores). Read when torch loads, so set it here,
# before any test module imports torch; results do not depend on it.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import poolnd

poolnd.set_compile_mode("wait")  # in case poolnd was imported before

# the shared helpers and references (tests/support), importable by name from every test file
SUPPORT = str(Path(__file__).resolve().parent / "support")
if SUPPORT not in sys.path:
    sys.path.insert(0, SUPPORT)

# When a Hypothesis test fails, its pytest plugin imports hypothesis.extra._patching (which
# imports libcst -> mypy_extensions, emitting a DeprecationWarning) inside a report hook.
# With filterwarnings=error that warning becomes an INTERNALERROR that aborts the whole run
# and hides the real failure; importing the module here, warnings silenced, avoids that.
with warnings.catch_warnings(), contextlib.suppress(ImportError):
    # ImportError (no libcst): the plugin then skips patch writing by itself
    warnings.simplefilter("ignore")
    import hypothesis.extra._patching  # noqa: F401

# One profile for the whole suite: no deadline (the first call of a compiled kernel may JIT
# or load from cache), and data-generation health checks relaxed for the composite strategies.
settings.register_profile(
    "poolnd",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("poolnd")


# Python's cyclic garbage collector walks every tracked object on each full collection, and
# a test process holds many long-lived ones: every compiled kernel signature leaves tens of
# thousands (Numba's typing and lowering records), besides torch, Hypothesis and the test
# modules. Late in a cold run a full collection took 0.3-0.5 s, and they added up to 15-55 s
# per test worker. After each test file, its garbage is collected and what survives is
# frozen (`gc.freeze`: still freed by reference counting, no longer walked by collections),
# so each later collection walks only what later files made.
@pytest.fixture(scope="module", autouse=True)
def _freeze_survivors():
    yield
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def _remembered_launches(request):
    """Each test starts with no remembered launch (`poolnd._ops.plans`), and a test that
    patches anything (a kernel selector, a tuning constant) runs every call in full: a
    launch remembered from an earlier call with the same arguments would skip what it
    patched. `tests/ops/test_plans.py` tests the remembered calls themselves."""
    from poolnd._ops import plans

    plans.forget()
    plans.ENABLED = "monkeypatch" not in request.fixturenames
    yield
    plans.ENABLED = True
    plans.forget()


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded generator per test (deterministic runs)."""
    return np.random.default_rng(20240613)


@pytest.fixture
def restore_threads():
    """poolnd's thread count as it was before the test."""
    before = poolnd.get_num_threads()
    yield
    poolnd.set_num_threads(before)


@pytest.fixture
def kernel_threads(restore_threads, monkeypatch):
    """``kernel_threads(n)``: run poolnd's kernels on ``n`` threads; with more than one,
    every launch takes the parallel form (in chunks), however small the input, so that
    tests on small arrays reach it."""

    def use(n: int) -> None:
        poolnd.set_num_threads(n)
        if n > 1:
            monkeypatch.setattr(poolnd._threads, "SERIAL_WORK", 0)

    return use


_WORKER_FUZZ: list[dict] = []  # under pytest-xdist: each worker's fuzz counts, as it ends


def _fuzz_counts() -> dict:
    fuzz = sys.modules.get("tests.robustness.test_fuzz")
    return dict(getattr(fuzz, "EXAMPLES", None) or {})


def pytest_sessionfinish(session):
    """An xdist worker hands its fuzz counts to the controller (`pytest_testnodedown`)."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["fuzz"] = [[p, name, n] for (p, name), n in _fuzz_counts().items()]


def pytest_testnodedown(node, error):
    # a worker that crashed (a kernel's segmentation fault) hands nothing over: xdist then
    # reports the crash and the test it was running, which this hook must not hide
    output = getattr(node, "workeroutput", {})
    _WORKER_FUZZ.append({(p, name): n for p, name, n in output.get("fuzz", [])})


def pytest_terminal_summary(terminalreporter):
    """How many differential-fuzz examples ran (tests/robustness/test_fuzz.py), per profile."""
    counts: dict = {}
    for part in (_fuzz_counts(), *_WORKER_FUZZ):
        for key, n in part.items():
            counts[key] = counts.get(key, 0) + n
    for profile in ("ci", "long"):
        ran = {name: n for (p, name), n in counts.items() if p == profile}
        if ran:
            detail = ", ".join(f"{name} {n}" for name, n in sorted(ran.items()))
            terminalreporter.write_line(
                f"fuzz ({profile} profile): {sum(ran.values())} examples ({detail})"
            )


# The longest files, in the order the test workers take them up. pytest-xdist's loadfile
# mode hands out one file at a time, by default the files with the most tests first, which
# left the two single-test files that take about a minute each (mypy over the package,
# PyTorch's op_db) to the end, one worker busy and the other idle. With
# ``--no-loadscope-reorder`` (pyproject's addopts) the files go in the order below, then in
# collection order: the longest first, so the last files to end are short ones.
LONGEST_FIRST = (
    "tests/ops/test_avg_oracle.py",
    "tests/ops/test_max_oracle.py",
    "tests/typing/test_typing.py",
    "tests/dispatch/test_backends.py",
    "tests/dispatch/test_dask.py",
    "tests/torch/test_torch_pytorch_db.py",
    "tests/kernels/test_memory.py",
    "tests/robustness/test_fuzz.py",
    "tests/ops/test_adaptive.py",
    "tests/conformance/test_onnx_differential.py",
)


def pytest_collection_modifyitems(config, items):
    root = Path(__file__).resolve().parents[1]
    missing = [name for name in LONGEST_FIRST if not (root / name).is_file()]
    assert not missing, f"LONGEST_FIRST names files that do not exist: {missing}"
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item):
        path = Path(item.path).resolve()
        name = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        return rank.get(name, len(rank))

    items.sort(key=order)  # stable: each file's tests keep their order
