"""poolnd.torch.patch(): routing torch.nn.functional's pooling to poolnd, falling back to
PyTorch's own for everything poolnd does not serve, reversibly and thread-safely."""

from __future__ import annotations

import subprocess
import sys
import threading
import warnings

import pytest
import torch
import torch.nn.functional as tF

import poolnd.torch as pt


def _served(out) -> bool:
    first = out[0] if isinstance(out, tuple) else out
    return first.grad_fn is not None and "poolnd" in first.grad_fn.name()


@pytest.fixture(autouse=True)
def _never_left_patched():
    yield
    while pt.is_patched():  # a failed test must not leave the process patched
        pt.unpatch()


def test_patch_is_a_context_manager_and_a_plain_call_and_reversible():
    originals = {name: getattr(tF, name) for name in pt.ROUTED}
    assert not pt.is_patched()
    with pt.patch() as handle:
        assert isinstance(handle, pt.Patch) and pt.is_patched()
        assert all(getattr(tF, n) is not originals[n] for n in pt.ROUTED)
        with pt.patch():  # nested
            pass
        assert pt.is_patched()
    assert not pt.is_patched()
    assert all(getattr(tF, n) is originals[n] for n in pt.ROUTED)
    pt.patch()
    assert pt.is_patched()
    pt.unpatch()
    assert all(getattr(tF, n) is originals[n] for n in pt.ROUTED)
    with pytest.raises(RuntimeError, match="not patched"):
        pt.unpatch()


def test_a_function_replaced_by_someone_else_is_left_alone():
    original = tF.max_pool2d
    pt.patch()
    mine = tF.max_pool2d
    try:
        def theirs(*args, **kwargs):
            return mine(*args, **kwargs)

        tF.max_pool2d = theirs
        pt.unpatch()
        assert tF.max_pool2d is theirs
        x = torch.randn(1, 1, 4, 4, requires_grad=True)
        assert not _served(tF.max_pool2d(x, 2))  # the stale router runs PyTorch's own now
    finally:
        tF.max_pool2d = original


def test_layers_are_routed_and_results_identical():
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 10, dtype=torch.float64, requires_grad=True)
    layers = [torch.nn.MaxPool2d(3, 2, 1, ceil_mode=True), torch.nn.AvgPool2d(3, 2, 1),
              torch.nn.AdaptiveMaxPool2d((4, 3), return_indices=True),
              torch.nn.AdaptiveAvgPool2d((4, None)), torch.nn.MaxPool1d(3),
              torch.nn.AvgPool3d(2), torch.nn.FractionalMaxPool2d(2, output_ratio=0.5)]
    for layer in layers:
        xin = x[:, :, 0] if isinstance(layer, torch.nn.MaxPool1d) else x
        xin = xin[:, None] if isinstance(layer, torch.nn.AvgPool3d) else xin
        torch.manual_seed(1)
        want = layer(xin)
        torch.manual_seed(1)
        with pt.patch():
            got = layer(xin)
        assert _served(got), layer
        w = want if isinstance(want, tuple) else (want,)
        g = got if isinstance(got, tuple) else (got,)
        assert all(torch.equal(a, b) for a, b in zip(w, g)), layer
        (gw,) = torch.autograd.grad(w[0].sum(), x)
        (gg,) = torch.autograd.grad(g[0].sum(), x)
        assert torch.equal(gw, gg), layer


def test_unpooling_and_lp_pooling_under_patch(monkeypatch):
    import poolnd._torch.functional as functional

    calls = []
    real = functional.avg_pool2d
    monkeypatch.setattr(functional, "avg_pool2d",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    v, i = tF.max_pool2d(x, 2, return_indices=True)
    want = torch.nn.MaxUnpool2d(2)(v, i, output_size=(9, 9))
    lp_want = torch.nn.LPPool2d(2, 3)(x)
    with pt.patch():
        got = torch.nn.MaxUnpool2d(2)(v, i, output_size=(9, 9))
        lp_got = torch.nn.LPPool2d(2, 3)(x)
    assert _served(got) and torch.equal(got, want)
    # LP pooling stays PyTorch's composition; its average pooling step is routed
    assert torch.equal(lp_got, lp_want) and calls


@pytest.mark.parametrize("make", [
    lambda: torch.randn(1, 2, 6, 6, dtype=torch.float16),
    lambda: torch.randn(1, 2, 6, 6, dtype=torch.bfloat16),
    lambda: torch.randint(0, 9, (1, 2, 6, 6)),
    lambda: torch.quantize_per_tensor(torch.randn(1, 2, 6, 6), 0.1, 0, torch.quint8),
    lambda: torch.randn(1, 2, 6, 6).to_sparse(),
    lambda: torch.randn(1, 2, 6, 6).as_subclass(type("Sub", (torch.Tensor,), {})),
    lambda: torch.zeros(0, 2, 6, 6),
], ids=["float16", "bfloat16", "int64", "quantized", "sparse", "subclass", "empty"])
def test_what_poolnd_does_not_serve_goes_to_pytorch_unchanged(make):
    with warnings.catch_warnings():  # quantized tensors are deprecated in torch 2.13
        warnings.simplefilter("ignore", UserWarning)
        x = make()

    def run():
        try:
            return tF.max_pool2d(x, 2)
        except Exception as exc:
            return (type(exc), str(exc))

    want = run()
    with pt.patch():
        got = run()
    if isinstance(want, tuple):
        assert got == want
    else:
        assert not _served(got) and type(got) is type(want)
        if not x.is_quantized and x.layout == torch.strided:
            assert torch.equal(got, want)


def test_adaptive_average_to_one_is_pytorch_s_mean():
    x = torch.randn(2, 3, 7, 7, requires_grad=True)
    with pt.patch():
        got = tF.adaptive_avg_pool2d(x, 1)
    assert not _served(got) and torch.equal(got, tF.adaptive_avg_pool2d(x, 1))


@pytest.mark.parametrize("call", [
    lambda f: f.max_pool2d(torch.randn(1, 1, 5, 5), 3, 1, 2),           # padding > k / 2
    lambda f: f.max_pool2d(torch.randn(1, 1, 5, 5), 3, 1, 2, 3),        # also with dilation
    lambda f: f.max_pool2d(torch.randn(1, 1, 5, 5), 0),
    lambda f: f.max_pool2d(torch.randn(1, 1, 5, 5), 2, unknown=1),
    lambda f: f.avg_pool2d(torch.randn(1, 1, 5, 5), 2, divisor_override=0),
    lambda f: f.avg_pool3d(torch.randn(1, 1, 1, 5, 5), 2, padding=1),   # departure 6
    lambda f: f.adaptive_max_pool2d(torch.randn(1, 5, 5), (2, 2, 2)),
    lambda f: f.max_unpool2d(torch.randn(1, 1, 2, 2), torch.full((1, 1, 2, 2), 99), 2),
    lambda f: f.max_unpool2d(torch.randn(1, 1, 2, 2), torch.zeros(1, 1, 2, 2).int(), 2),
    lambda f: f.fractional_max_pool2d(torch.randn(1, 1, 5, 5), 2),
    lambda f: f.fractional_max_pool2d(torch.randn(1, 1, 5, 5), 4, output_size=3),
    lambda f: f.lp_pool2d(torch.randn(1, 1, 4, 4), 0, 2),
], ids=["padding", "dilated-padding", "kernel-0", "keyword", "divisor-0", "avg3d-small",
        "adaptive-size", "unpool-index", "unpool-int32", "fractional-no-size",
        "fractional-too-big", "lp-norm-0"])
def test_calls_pytorch_refuses_raise_pytorch_s_own_error(call):
    with pytest.raises(Exception) as want:
        call(tF)
    with pt.patch(), pytest.raises(Exception) as got:
        call(tF)
    assert got.type is want.type and str(got.value) == str(want.value)


def test_channels_last_stays_channels_last():
    x = torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    want = tF.max_pool2d(x, 2)
    with pt.patch():
        got = tF.max_pool2d(x, 2)
    assert torch.equal(got, want) and got.stride() == want.stride()


def test_crash_case_runs_safely_under_patch():
    """Issue 18's crash: unpatched, PyTorch's backward writes out of bounds (so it is never
    run here); patched, the window wholly in padding has index -1 and a zero gradient."""
    with pt.patch():
        for _ in range(100):
            x = torch.randn(1, 1, 2, 3, requires_grad=True)
            y = tF.max_pool2d(x, (2, 4), None, (1, 2), (3, 2))
            y.sum().backward()
            assert _served(y)
        _, i = tF.max_pool2d(x, (2, 4), None, (1, 2), (3, 2), return_indices=True)
    assert torch.equal(x.grad, torch.zeros_like(x)) and (i == -1).all()


def test_compile_and_tracing_see_pytorch_s_op():
    """Under torch.compile and torch.jit.trace a routed call is PyTorch's own, so the graph
    holds PyTorch's op and stays valid after unpatch."""
    x = torch.randn(1, 2, 6, 6)
    graphs = []

    def backend(gm, example_inputs):
        graphs.append(str(gm.graph))
        return gm.forward

    def pool(t):
        return tF.max_pool2d(t, 2) + 1

    torch._dynamo.reset()
    with pt.patch(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit.trace is deprecated
        traced = torch.jit.trace(pool, (x,))
        compiled = torch.compile(pool, backend=backend, fullgraph=True)(x)
    assert "poolnd" not in str(traced.graph)
    assert len(graphs) == 1 and "max_pool2d" in graphs[0] and "poolnd" not in graphs[0]
    assert torch.equal(traced(x), pool(x)) and torch.equal(compiled, pool(x))


def test_threads_patch_and_pool_concurrently():
    """Eight threads pooling while four others patch and unpatch: every result is
    PyTorch's, and the process ends unpatched."""
    original = tF.max_pool2d
    x = torch.randn(2, 4, 16, 16, dtype=torch.float64, requires_grad=True)
    want = tF.max_pool2d(x, 3, 2, 1)
    (grad_want,) = torch.autograd.grad(want.sum(), x)
    errors: list[BaseException] = []
    served = []

    def pool():
        try:
            for _ in range(30):
                y = tF.max_pool2d(x, 3, 2, 1)
                (g,) = torch.autograd.grad(y.sum(), x)
                assert torch.equal(y, want) and torch.equal(g, grad_want)
                served.append(_served(y))
        except BaseException as exc:
            errors.append(exc)

    def toggle():
        try:
            for _ in range(30):
                with pt.patch():
                    tF.avg_pool2d(x, 2)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pool) for _ in range(8)]
    threads += [threading.Thread(target=toggle) for _ in range(4)]
    with pt.patch():  # held through the run: the poolers are served at least sometimes
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert any(served)
    assert not pt.is_patched() and tF.max_pool2d is original


def test_never_active_unless_asked():
    code = (
        "import torch, torch.nn.functional as F\n"
        "names = ['max_pool2d', 'avg_pool2d', 'adaptive_avg_pool2d', 'max_unpool2d']\n"
        "before = [getattr(F, n) for n in names]\n"
        "import poolnd, poolnd.torch\n"
        "print(all(getattr(F, n) is b for n, b in zip(names, before)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_tensors_go_to_pytorch():
    x = torch.randn(2, 3, 8, 8, device="cuda", requires_grad=True)
    want = tF.max_pool2d(x, 2)
    with pt.patch():
        got = tF.max_pool2d(x, 2)
    assert got.is_cuda and not _served(got) and torch.equal(got, want)
