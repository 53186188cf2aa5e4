"""PyTorch's own pooling tests, run with and without ``poolnd.torch.patch()``: "no change".

The torch wheel ships no ``test/nn/test_pooling.py``, but it ships the test databases that
PyTorch's own suites are generated from: ``op_db`` (OpInfos with sample inputs and error
inputs of every ``nn.functional`` pooling function) and ``module_db`` (ModuleInfos with the
inputs of every pooling layer). Every CPU sample of those entries runs unpatched and
patched, in every dtype the entry lists; values, indices, strides, input gradients and
errors (type and message) must be the same. Run as a script it prints the counts:
``python tests/torch/test_torch_pytorch_db.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import torch
import torch.nn.functional as tF

pytest.importorskip("expecttest")  # torch.testing._internal needs it

import poolnd.torch as pt

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64)


@functools.cache
def pooling_ops() -> list[Any]:
    """The op_db entries of pooling functions (imported when a test runs: building op_db
    takes seconds that every test process would spend collecting otherwise)."""
    from torch.testing._internal.common_methods_invocations import op_db

    return [o for o in op_db if "pool" in o.name and o.name.startswith("nn.functional.")]


@functools.cache
def pooling_modules() -> list[Any]:
    """The module_db entries of pooling layers (imported when a test runs, as above)."""
    from torch.testing._internal.common_modules import module_db

    return [m for m in module_db if "Pool" in m.module_cls.__name__]


def _grad_seed(out: torch.Tensor) -> torch.Tensor:
    return (torch.arange(out.numel()) % 5 + 1).reshape(out.shape).to(out.dtype)


def _empty_window(inp: torch.Tensor, out: torch.Tensor) -> bool:
    """A max window wholly in padding (-inf from finite input): PyTorch's backward would
    write out of bounds there (departure 1), so no unpatched backward runs on it."""
    return bool(out.is_floating_point() and torch.isneginf(out).any()
                and not torch.isneginf(inp).any())


def _run(call: Callable[[], Any], inp: torch.Tensor) -> tuple[Any, ...]:
    """("ok", outputs, input gradient, served) or ("error", type, message)."""
    torch.manual_seed(0)
    try:
        out = call()
    except Exception as exc:  # the error itself is what is compared
        return ("error", type(exc), str(exc))
    outs = out if isinstance(out, tuple) else (out,)
    served = any("poolnd" in (o.grad_fn.name() if o.grad_fn else "") for o in outs)
    grad = None
    first = outs[0]
    if inp.requires_grad and first.requires_grad and first.numel() and not (
            not served and _empty_window(inp, first)):
        try:
            (grad,) = torch.autograd.grad(first, inp, _grad_seed(first))
        except Exception as exc:
            grad = ("error", type(exc), str(exc))
    return ("ok", outs, grad, served)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if [st for st, n in zip(a.stride(), a.shape) if n > 1] != \
                [st for st, n in zip(b.stride(), b.shape) if n > 1]:
            return False  # the layout (a size-1 dimension's stride means nothing)
        return bool(torch.equal(a, b) or (a.is_floating_point() and torch.equal(
            torch.nan_to_num(a, nan=0.5), torch.nan_to_num(b, nan=0.5))
            and torch.equal(a.isnan(), b.isnan())))
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _compare(label: str, call: Callable[[], Any], inp: torch.Tensor,
             tally: dict[str, int], diffs: list[str]) -> None:
    ref = _run(call, inp)
    with pt.patch():
        got = _run(call, inp)
    tally["cases"] += 1
    if got[0] == "ok" and got[3]:
        tally["served"] += 1
    if ref[0] == "error":
        tally["errors"] += 1
    if ref[0] == "ok" and got[0] == "ok":
        ok = _same(ref[1], got[1]) and (ref[2] is None or _same(ref[2], got[2]))
        if ref[2] is None and got[2] is not None and not _empty_window(inp, got[1][0]):
            ok = False
    else:
        ok = ref == got
    if not ok:
        diffs.append(f"{label}: unpatched {_short(ref)} / patched {_short(got)}")


def _short(result: tuple[Any, ...]) -> str:
    if result[0] == "error":
        return f"{result[1].__name__}: {result[2][:120]}"
    return f"outputs {[tuple(o.shape) for o in result[1]]}"


def _function(op: Any) -> Callable[..., Any]:
    """The OpInfo's function, looked up in ``torch.nn.functional`` at each call when it is
    that module's own (an OpInfo keeps the object it was built with, which a patch of the
    module does not reach; its wrapper functions look the name up themselves)."""
    name = op.name.rpartition(".")[2]
    if op.op is getattr(tF, name, None):
        return lambda *args, **kwargs: getattr(tF, name)(*args, **kwargs)
    return op


def _samples(info: Any, dtype: torch.dtype, grad: bool) -> Iterator[Any]:
    """The OpInfo's sample inputs, from its generator itself: ``info.sample_inputs`` wraps
    it in a tracker that crawls the stack (``inspect.stack``) and reseeds every device's
    generator before each sample, recording a traceback each time: over half a minute of
    the test's time, none of it pooling. The generator draws from the seed set here."""
    return iter(info.sample_inputs_func(info, "cpu", dtype, grad))


def compare_ops(ops: list[Any], dtypes: tuple[torch.dtype, ...] = DTYPES, every: int = 1
                ) -> tuple[dict[str, int], list[str]]:
    """Compare every ``every``-th sample of each op in each dtype, and its error inputs."""
    tally = {"cases": 0, "served": 0, "errors": 0}
    diffs: list[str] = []
    for info in ops:
        op = _function(info)
        for dtype in dtypes:
            if dtype not in info.supported_dtypes("cpu"):
                continue
            grad = dtype in (torch.float32, torch.float64) and info.supports_autograd
            torch.manual_seed(1)
            for i, s in enumerate(_samples(info, dtype, grad)):
                if i % every:
                    continue
                _compare(f"{info.name} {dtype} sample {i}",
                         lambda s=s, op=op: op(s.input, *s.args, **s.kwargs), s.input, tally,
                         diffs)
        if info.error_inputs_func is not None:
            for i, e in enumerate(info.error_inputs_func(info, "cpu")):
                s = e.sample_input
                _compare(f"{info.name} error input {i}",
                         lambda s=s, op=op: op(s.input, *s.args, **s.kwargs), s.input, tally,
                         diffs)
    return tally, diffs


def compare_modules(infos: list[Any]) -> tuple[dict[str, int], list[str]]:
    tally = {"cases": 0, "served": 0, "errors": 0}
    diffs: list[str] = []
    for info in infos:
        for dtype in (torch.float32, torch.float64):
            torch.manual_seed(1)
            for mi in info.module_inputs_func(info, device="cpu", dtype=dtype,
                                              requires_grad=True, training=True):
                c, f = mi.constructor_input, mi.forward_input
                if f is None or not f.args or not isinstance(f.args[0], torch.Tensor):
                    continue

                def call(c: Any = c, f: Any = f, info: Any = info) -> Any:
                    return info.module_cls(*c.args, **c.kwargs)(*f.args, **f.kwargs)

                _compare(f"{info.module_cls.__name__} {dtype} {mi.desc}", call, f.args[0],
                         tally, diffs)
    return tally, diffs


def test_op_db_pooling_samples_same_under_patch():
    """float64 (served) and float16 (PyTorch's), every 8th sample (the max pooling entries
    have over a thousand each): well under a minute on 2 cores. The script form runs every
    sample in every dtype the entries list."""
    tally, diffs = compare_ops(pooling_ops(), (torch.float64, torch.float16), every=8)
    assert tally["cases"] > 500 and tally["served"] > 200, tally
    assert diffs == []


def test_module_db_pooling_layers_same_under_patch():
    tally, diffs = compare_modules(pooling_modules())
    assert tally["cases"] > 40 and tally["served"] > 20, tally
    assert diffs == []


if __name__ == "__main__":  # the report docs/torch.md quotes
    for name, (t, d) in (("op_db", compare_ops(pooling_ops())),
                         ("module_db", compare_modules(pooling_modules()))):
        print(f"{name}: {t} differences: {len(d)}")
        for line in d:
            print("  ", line)
    print("ops:", len(pooling_ops()), "modules:", len(pooling_modules()))
