"""Where a small call's time goes: poolnd's steps before its kernel starts, and how what ran
just before a call (nothing, another library's call, an idle or a busy pause) changes
poolnd's and onnxruntime's times alike.

Two tables, float32 max pooling, 2 threads, the helpers not spinning (as in `poolnd bench`):

1. **Timeline** of one call of ``--case`` (default the benchmark's batch-1 case): the
   median microseconds, from the call's start, at which it enters and leaves its steps (the
   look-up of a remembered launch, `poolnd._ops.plans`, which after the first call answers
   and runs the launch itself; otherwise the argument checks and window, the kernel
   selector, then the launch; the ring that wakes a dozing helper as the launch's outputs
   are made, where `poolnd._kernels.doze` serves, the launch's publication to the helpers
   (which wakes a helper sleeping on the queue elsewhere), the calling thread's first chunk
   and the helper's),
   called back to back and right after a PyTorch call of the same pooling. It wraps
   private functions of poolnd to time them (a tool, not the library): the wrappers add a
   microsecond or two a step.
2. **Before the call** (without the wrappers): poolnd's and onnxruntime's medians after
   nothing, a PyTorch call, a 2 ms and a 20 ms sleep, and 20 ms of a busy loop on the
   calling thread; and NumPy's sum of the input, a plain read of its bytes, after the same.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/small_calls.py [--case 1x64x112x112,3,2,1]
        [--calls 40]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from poolnd import _threads as tuning
from poolnd._cli import bench
from poolnd._kernels import launch as launch_module
from poolnd._kernels import sliding
from poolnd._ops import pooling

_marks: list[tuple[str, float]] = []


def _mark(name: str) -> None:
    _marks.append((name, time.perf_counter()))


_originals: list[tuple[Any, str, Any]] = []


def _wrap(owner: Any, name: str, label: str) -> None:
    """Replace ``owner.name`` by a function marking its entry and exit."""
    inner = getattr(owner, name)
    _originals.append((owner, name, inner))

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _mark(f"{label} >")
        try:
            return inner(*args, **kwargs)
        finally:
            _mark(f"{label} <")

    setattr(owner, name, wrapped)


def _instrument() -> None:
    _wrap(pooling.plans, "recall", "remembered")
    _wrap(pooling, "_prepare", "checks")
    _wrap(pooling.kernels, "max_forward", "selector")
    _wrap(sliding, "prewake", "ring helper")
    _wrap(sliding, "launch", "launch")
    _wrap(launch_module, "_publish", "publish")
    run = launch_module._Launch.run
    _originals.append((launch_module._Launch, "run", run))

    def timed_run(self: Any) -> bool:
        if threading.current_thread() is threading.main_thread():
            _mark("first chunk >")
        else:
            _mark("helper starts")
        return run(self)

    launch_module._Launch.run = timed_run  # type: ignore[method-assign]


def _uninstrument() -> None:
    while _originals:
        owner, name, inner = _originals.pop()
        setattr(owner, name, inner)


def _busy(seconds: float) -> None:
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        pass


def _timeline(fn: Callable[[], Any], before: Callable[[], Any], calls: int) -> dict[str, float]:
    """Median microseconds from a call's start to each mark, and to its end."""
    seen: dict[str, list[float]] = {}
    for _ in range(calls):
        before()
        _marks.clear()
        t0 = time.perf_counter()
        fn()
        t1 = time.perf_counter()
        for name, t in _marks:
            seen.setdefault(name, []).append((t - t0) * 1e6)
        seen.setdefault("end", []).append((t1 - t0) * 1e6)
    return {name: statistics.median(v) for name, v in seen.items()}


def _after(fn: Callable[[], Any], before: Callable[[], Any], calls: int) -> float:
    """Median milliseconds of ``fn`` called right after ``before``."""
    times = []
    for _ in range(calls):
        before()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", default="1x64x112x112,3,2,1",
                        help="shape,kernel,stride,padding (default %(default)s)")
    parser.add_argument("--calls", type=int, default=40)
    args = parser.parse_args()
    shape_text, k, s, p = args.case.split(",")
    shape = tuple(int(v) for v in shape_text.split("x"))
    case = bench.Case(shape, int(k), int(s), int(p))
    libs = bench._Libs.load()
    bench._set_threads(libs, 2)
    tuning.HELPER_SPIN_TICKS = 0  # as `poolnd bench`: helpers sleep at once
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    comps = {c.key: c for c in bench._forward_competitors(libs, "max", case, x, 2)
             if c.key in ("poolnd", "ort", "torch")}
    bench._first_calls(list(comps.values()), keep=False)
    poolnd_fn = comps["poolnd"].fn
    torch_fn = comps["torch"].fn if "torch" in comps else None
    ort_fn = comps["ort"].fn if "ort" in comps else None
    assert poolnd_fn is not None
    print(f"{bench._cpu_model()}, max pooling {case.name}, float32, 2 threads, "
          f"medians of {args.calls} calls\n")

    befores: dict[str, Callable[[], Any]] = {"nothing (back to back)": lambda: None}
    if torch_fn is not None:
        befores["a PyTorch call"] = torch_fn
    _instrument()
    lines = {name: _timeline(poolnd_fn, before, args.calls) for name, before in befores.items()}
    names = list(next(iter(lines.values())))
    print("| µs from the call's start | " + " | ".join(f"after {b}" for b in lines) + " |")
    print("|---|" + "---:|" * len(lines))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{v.get(name, float('nan')):.0f}"
                                          for v in lines.values()) + " |")

    _uninstrument()
    befores.update({
        "a 2 ms sleep": lambda: time.sleep(0.002),
        "a 20 ms sleep": lambda: time.sleep(0.02),
        "20 ms busy": lambda: _busy(0.02),
    })
    print("\n| before each call | poolnd ms | onnxruntime ms | poolnd/ort | NumPy sum of the "
          "input ms |")
    print("|---|---:|---:|---:|---:|")
    for name, before in befores.items():
        mine = _after(poolnd_fn, before, args.calls)
        theirs = _after(ort_fn, before, args.calls) if ort_fn is not None else float("nan")
        read = _after(x.sum, before, args.calls)
        print(f"| {name} | {mine:.3f} | {theirs:.3f} | {mine / theirs:.2f} | {read:.3f} |")


if __name__ == "__main__":
    main()
