"""Opt-in routing of ``torch.nn.functional``'s pooling functions to poolnd.

`install` replaces the pooling functions of ``torch.nn.functional`` (and so the
``torch.nn`` pooling layers, which call them) with routers; `uninstall` puts PyTorch's own
back. A router gives a call to poolnd only when all of these hold, and to PyTorch's own
function, unchanged, otherwise:

1. the input (and every other tensor argument) is a plain strided CPU ``torch.Tensor``
   (or ``nn.Parameter``) of float32 or float64 with at least one element, no
   ``__torch_function__`` override or mode, no dispatch mode, and neither
   ``torch.compile``, ``torch.jit`` tracing nor scripting is tracing the call;
2. PyTorch's own function accepts the same call on ``meta`` tensors of the same shapes,
   dtypes and strides (so every argument check PyTorch makes before computing is
   PyTorch's own; a call it refuses reaches PyTorch's real function, which raises its own
   error);
3. the call is not one where poolnd's result would differ from PyTorch's: adaptive average
   pooling to all ones (PyTorch's ``torch.mean`` summation order), an empty output,
   unpooling a non-contiguous input (PyTorch's kernel gives its output the input's layout);
4. poolnd accepts it (a refusal of poolnd's, such as an invalid unpooling index, goes to
   PyTorch's function, which raises its own error or computes its own result), and its
   output has the shape PyTorch's has on ``meta``.

The result is then made to have the strides PyTorch's has (channels-last stays
channels-last). LP pooling is not replaced: PyTorch's ``lp_pool*d`` is a composition of
``avg_pool*d`` (or ``max_pool*d``) with elementwise ops, and calls the routed functions.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import _get_current_dispatch_mode

from . import functional as pt

__all__ = ["ROUTED", "install", "installed", "uninstall"]

SERVED_DTYPES = (torch.float32, torch.float64)

_DECLINE = object()  # a server's answer: let PyTorch's own function take the call



def _signature(*names: str, **defaults: Any) -> inspect.Signature:
    """A signature with these parameters, positional or keyword (PyTorch's own, documented
    signature of a routed function, by which a call's arguments are read)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature(
        [inspect.Parameter(n, kind) for n in names]
        + [inspect.Parameter(n, kind, default=v) for n, v in defaults.items()])


_WINDOW = {"stride": None, "padding": 0}
_MAX_SIG = _signature("input", "kernel_size", **_WINDOW, dilation=1, ceil_mode=False,
                      return_indices=False)
_AVG1_SIG = _signature("input", "kernel_size", **_WINDOW, ceil_mode=False,
                       count_include_pad=True)
_AVG_SIG = _signature("input", "kernel_size", **_WINDOW, ceil_mode=False,
                      count_include_pad=True, divisor_override=None)
_ADAPTIVE_MAX_SIG = _signature("input", "output_size", return_indices=False)
_ADAPTIVE_AVG_SIG = _signature("input", "output_size")
_FRACTIONAL_SIG = _signature("input", "kernel_size", output_size=None, output_ratio=None,
                             return_indices=False, _random_samples=None)
_UNPOOL_SIG = _signature("input", "indices", "kernel_size", **_WINDOW, output_size=None)


def _eligible(t: Any) -> bool:
    return (type(t) is torch.Tensor or type(t) is torch.nn.Parameter) and \
        t.device.type == "cpu" and t.layout is torch.strided and t.dtype in SERVED_DTYPES \
        and t.numel() > 0


def _tracing() -> bool:
    """Is the call being traced or intercepted (compile, jit, a torch function or dispatch
    mode)? Then PyTorch's own function takes it, so the trace holds PyTorch's op."""
    return bool(torch.compiler.is_compiling() or torch.jit.is_tracing()
                or torch.jit.is_scripting() or torch._C._len_torch_function_stack() > 0
                or _get_current_dispatch_mode() is not None)


def _meta(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return torch.empty_strided(value.shape, value.stride(), dtype=value.dtype,
                                   device="meta")
    return value


def _like(result: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """``result`` with ``reference``'s strides (a copy only where they differ)."""
    if result.stride() == reference.stride() or result.numel() <= 1:
        return result
    for fmt in (torch.channels_last, torch.channels_last_3d):
        try:
            if reference.is_contiguous(memory_format=fmt):
                return result.contiguous(memory_format=fmt)
        except RuntimeError:  # a format for another rank
            continue
    return torch.empty_strided(reference.shape, reference.stride(), dtype=result.dtype,
                               device=result.device).copy_(result)


def _matches(result: Any, expected: Any) -> bool:
    if isinstance(expected, tuple):
        return isinstance(result, tuple) and len(result) == len(expected) and all(
            r.shape == e.shape and r.dtype == e.dtype for r, e in zip(result, expected))
    return isinstance(result, torch.Tensor) and result.shape == expected.shape \
        and result.dtype == expected.dtype


def _router(name: str, original: Callable[..., Any], signature: inspect.Signature,
            serve: Callable[[dict[str, Any]], Any]) -> Callable[..., Any]:
    """A function standing in for ``F.<name>``: poolnd's ``serve(arguments)`` for the calls
    the module docstring lists, ``original`` for every other."""

    # the two functions PyTorch's boolean dispatch chooses between on ``return_indices``:
    # under torch.compile the router calls them itself, since Dynamo does not trace into
    # the dispatcher when it is reached through another function
    plain = getattr(F, "_" + name, None)
    with_indices = getattr(F, name + "_with_indices", None)

    def pytorch_s(*args: Any, **kwargs: Any) -> Any:
        if torch.compiler.is_compiling() and plain is not None and with_indices is not None:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                return original(*args, **kwargs)
            bound.apply_defaults()
            chosen = with_indices if bound.arguments["return_indices"] else plain
            return chosen(*args, **kwargs)
        return original(*args, **kwargs)

    @functools.wraps(original)
    def routed(*args: Any, **kwargs: Any) -> Any:
        if not _state.active or _tracing():
            return pytorch_s(*args, **kwargs)
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError:
            return original(*args, **kwargs)
        bound.apply_defaults()
        arguments = bound.arguments
        tensors = [v for v in arguments.values() if isinstance(v, torch.Tensor)]
        # indices (unpooling) are int64: only the values need a served dtype
        if not _eligible(arguments["input"]) or not all(
                type(t) in (torch.Tensor, torch.nn.Parameter) and t.device.type == "cpu"
                and t.layout is torch.strided for t in tensors):
            return original(*args, **kwargs)
        try:
            with torch.no_grad():
                expected = original(*(_meta(a) for a in args),
                                    **{k: _meta(v) for k, v in kwargs.items()})
        except Exception:  # PyTorch refuses the call: its real function raises its own error
            return original(*args, **kwargs)
        shapes = expected if isinstance(expected, tuple) else (expected,)
        if any(e.numel() == 0 for e in shapes):
            return original(*args, **kwargs)
        try:
            result = serve(arguments)
        except (ValueError, TypeError, OverflowError):  # poolnd refuses: PyTorch decides
            return original(*args, **kwargs)
        if result is _DECLINE or not _matches(result, expected):
            return original(*args, **kwargs)
        if isinstance(result, tuple):
            return tuple(_like(r, e) for r, e in zip(result, expected))
        return _like(result, expected)

    routed.__poolnd_original__ = original  # type: ignore[attr-defined]
    return routed


# --------------------------------------------------------------------------------------------
# one server per family: the call's arguments -> poolnd's result, or _DECLINE


def _max(rank: int, with_indices: bool) -> Callable[[dict[str, Any]], Any]:
    fn = {1: pt.max_pool1d, 2: pt.max_pool2d, 3: pt.max_pool3d}[rank]

    def serve(a: dict[str, Any]) -> Any:
        return fn(a["input"], a["kernel_size"], a["stride"], a["padding"], a["dilation"],
                  a["ceil_mode"], with_indices or bool(a["return_indices"]))

    return serve


def _avg(rank: int) -> Callable[[dict[str, Any]], Any]:
    fn = {1: pt.avg_pool1d, 2: pt.avg_pool2d, 3: pt.avg_pool3d}[rank]

    def serve(a: dict[str, Any]) -> Any:
        extra = () if rank == 1 else (a["divisor_override"],)
        return fn(a["input"], a["kernel_size"], a["stride"], a["padding"], a["ceil_mode"],
                  a["count_include_pad"], *extra)

    return serve


def _adaptive_max(rank: int, with_indices: bool) -> Callable[[dict[str, Any]], Any]:
    fn = {1: pt.adaptive_max_pool1d, 2: pt.adaptive_max_pool2d,
          3: pt.adaptive_max_pool3d}[rank]

    def serve(a: dict[str, Any]) -> Any:
        return fn(a["input"], a["output_size"], with_indices or bool(a["return_indices"]))

    return serve


def _adaptive_avg(rank: int) -> Callable[[dict[str, Any]], Any]:
    fn = {1: pt.adaptive_avg_pool1d, 2: pt.adaptive_avg_pool2d,
          3: pt.adaptive_avg_pool3d}[rank]
    op = fn.__name__

    def serve(a: dict[str, Any]) -> Any:
        if all(s == 1 for s in pt.output_sizes(op, a["input"], a["output_size"], rank)):
            return _DECLINE  # PyTorch takes torch.mean here: its summation order (departure 10)
        return fn(a["input"], a["output_size"])

    return serve


def _fractional(rank: int, with_indices: bool) -> Callable[[dict[str, Any]], Any]:
    fn = {2: pt.fractional_max_pool2d, 3: pt.fractional_max_pool3d}[rank]

    def serve(a: dict[str, Any]) -> Any:
        return fn(a["input"], a["kernel_size"], a["output_size"], a["output_ratio"],
                  with_indices or bool(a["return_indices"]), a["_random_samples"])

    return serve


def _unpool(rank: int) -> Callable[[dict[str, Any]], Any]:
    fn = {1: pt.max_unpool1d, 2: pt.max_unpool2d, 3: pt.max_unpool3d}[rank]

    def serve(a: dict[str, Any]) -> Any:
        if a["indices"].dtype != torch.int64 or not a["input"].is_contiguous():
            return _DECLINE  # PyTorch's kernel lays its output out like a strided input
        return fn(a["input"], a["indices"], a["kernel_size"], a["stride"], a["padding"],
                  a["output_size"])

    return serve


Server = Callable[[dict[str, Any]], Any]


def _table() -> dict[str, tuple[inspect.Signature, Server]]:
    """Each routed name of ``torch.nn.functional``: its signature and its server."""
    table: dict[str, tuple[inspect.Signature, Server]] = {}
    for r in (1, 2, 3):
        table[f"max_pool{r}d"] = (_MAX_SIG, _max(r, False))
        table[f"max_pool{r}d_with_indices"] = (_MAX_SIG, _max(r, True))
        table[f"avg_pool{r}d"] = (_AVG1_SIG if r == 1 else _AVG_SIG, _avg(r))
        table[f"adaptive_max_pool{r}d"] = (_ADAPTIVE_MAX_SIG, _adaptive_max(r, False))
        table[f"adaptive_max_pool{r}d_with_indices"] = (_ADAPTIVE_MAX_SIG,
                                                        _adaptive_max(r, True))
        table[f"adaptive_avg_pool{r}d"] = (_ADAPTIVE_AVG_SIG, _adaptive_avg(r))
        table[f"max_unpool{r}d"] = (_UNPOOL_SIG, _unpool(r))
    for r in (2, 3):
        table[f"fractional_max_pool{r}d"] = (_FRACTIONAL_SIG, _fractional(r, False))
        table[f"fractional_max_pool{r}d_with_indices"] = (_FRACTIONAL_SIG,
                                                          _fractional(r, True))
    return table


ROUTED = tuple(sorted(_table()))


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.depth = 0
        self.active = False
        self.routers: dict[str, Callable[..., Any]] = {}
        self.originals: dict[str, Callable[..., Any]] = {}


_state = _State()


def install() -> None:
    """Route ``torch.nn.functional``'s pooling functions through poolnd (nested calls
    count: each `install` needs its `uninstall`)."""
    with _state.lock:
        if _state.depth == 0:
            for name, (sig, serve) in _table().items():
                original = getattr(F, name)
                router = _router(name, original, sig, serve)
                _state.originals[name] = original
                _state.routers[name] = router
                setattr(F, name, router)
            _state.active = True
        _state.depth += 1


def uninstall() -> None:
    """Undo one `install`; the last puts PyTorch's own functions back (a function that
    someone replaced after `install` is left as they set it)."""
    with _state.lock:
        if _state.depth == 0:
            raise RuntimeError("poolnd.torch.unpatch(): torch.nn.functional is not patched")
        _state.depth -= 1
        if _state.depth == 0:
            _state.active = False
            for name, original in _state.originals.items():
                if getattr(F, name) is _state.routers[name]:
                    setattr(F, name, original)
            _state.originals.clear()
            _state.routers.clear()


def installed() -> bool:
    """Are ``torch.nn.functional``'s pooling functions routed through poolnd now?"""
    return _state.active
