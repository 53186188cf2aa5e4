"""poolnd.torch's functions: PyTorch's values, indices and gradients (oracle: torch 2.13
CPU), gradcheck per op in float64, custom-op registration (opcheck), torch.compile without a
graph break, no_grad/inference_mode, nn.Module use, zero-copy, other devices."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from op_cases import CASES

import poolnd.torch as pt

# each torch-named case of the shared op list (tests/op_cases.py), through poolnd.torch
TORCH_CASES = [c for c in CASES if hasattr(pt, c.id) and "channels_last" not in c.kwargs]


def _torch_kwargs(kwargs: dict) -> dict:
    return {k: torch.from_numpy(np.ascontiguousarray(v)) if isinstance(v, np.ndarray) else v
            for k, v in kwargs.items()}


def _tuple(out):
    return out if isinstance(out, tuple) else (out,)


def test_every_torch_pooling_function_is_here():
    names = [f"{kind}_pool{r}d" for kind in ("max", "avg", "lp", "adaptive_max",
                                             "adaptive_avg") for r in (1, 2, 3)]
    names += ["fractional_max_pool2d", "fractional_max_pool3d"]
    names += [f"max_unpool{r}d" for r in (1, 2, 3)]
    assert all(hasattr(pt, n) and hasattr(tF, n) for n in names)
    assert len(TORCH_CASES) == 20


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", TORCH_CASES, ids=lambda c: c.id)
def test_values_indices_and_gradients_are_torch_s(case, dtype, rng):
    x_np, kwargs = case.build(rng, dtype)
    kw = _torch_kwargs(kwargs)
    x1 = torch.from_numpy(x_np.copy()).requires_grad_()
    x2 = torch.from_numpy(x_np.copy()).requires_grad_()
    got = _tuple(getattr(pt, case.id)(x1, *case.args, **kw))
    want = _tuple(getattr(tF, case.id)(x2, *case.args, **kw))
    seed = torch.from_numpy(rng.standard_normal(tuple(want[0].shape)).astype(dtype))
    (g1,) = torch.autograd.grad(got[0], x1, seed)
    (g2,) = torch.autograd.grad(want[0], x2, seed)
    if case.id.startswith("lp_pool") or (case.args == (1,) and "adaptive_avg" in case.id):
        # LP: within a few ulp (departure 8); adaptive average to size 1 is a mean (10)
        for a, b in zip((*got, g1), (*want, g2)):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, equal_nan=True)
        return
    for a, b in zip((*got, g1), (*want, g2)):
        assert a.dtype == b.dtype and torch.equal(a, b)


def _op_calls():
    """Each op, small float64 inputs: (id, function of the input, input)."""
    g = torch.Generator().manual_seed(3)

    def r(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64)

    # distinct values: max pooling's gradient is defined (no ties within a window)
    x1, x2, x3 = r(2, 2, 9), r(1, 2, 7, 6), r(1, 2, 4, 5, 5)
    s2, s3 = torch.rand(1, 2, 2, generator=g, dtype=torch.float64), \
        torch.rand(1, 2, 3, generator=g, dtype=torch.float64)
    v1, i1 = tF.max_pool1d(r(2, 2, 8), 2, return_indices=True)
    v2, i2 = tF.max_pool2d(r(1, 2, 6, 6), 2, return_indices=True)
    v3, i3 = tF.max_pool3d(r(1, 1, 4, 4, 4), 2, return_indices=True)
    return [
        ("max_pool1d", lambda t: pt.max_pool1d(t, 3, 2, 1), x1),
        ("max_pool2d", lambda t: pt.max_pool2d(t, (3, 2), 2, 1, (1, 2), True), x2),
        ("max_pool3d", lambda t: pt.max_pool3d(t, 2, 1), x3),
        ("avg_pool1d", lambda t: pt.avg_pool1d(t, 3, 2, 1, True, False), x1),
        ("avg_pool2d", lambda t: pt.avg_pool2d(t, 3, 2, 1, divisor_override=4), x2),
        ("avg_pool3d", lambda t: pt.avg_pool3d(t, 2, 1, 1), x3),
        ("lp_pool1d", lambda t: pt.lp_pool1d(t, 2.0, 3, 2), x1),
        ("lp_pool2d", lambda t: pt.lp_pool2d(t, 3.0, 2, ceil_mode=True), x2.abs() + 0.5),
        ("lp_pool3d", lambda t: pt.lp_pool3d(t, 1.5, 2), x3.abs() + 0.5),
        ("adaptive_max_pool1d", lambda t: pt.adaptive_max_pool1d(t, 4), x1),
        ("adaptive_max_pool2d", lambda t: pt.adaptive_max_pool2d(t, (3, None)), x2),
        ("adaptive_max_pool3d", lambda t: pt.adaptive_max_pool3d(t, 2), x3),
        ("adaptive_avg_pool1d", lambda t: pt.adaptive_avg_pool1d(t, 4), x1),
        ("adaptive_avg_pool2d", lambda t: pt.adaptive_avg_pool2d(t, (4, 3)), x2),
        ("adaptive_avg_pool3d", lambda t: pt.adaptive_avg_pool3d(t, (3, 2, 4)), x3),
        ("fractional_max_pool2d",
         lambda t: pt.fractional_max_pool2d(t, 2, (4, 3), _random_samples=s2), x2),
        ("fractional_max_pool3d",
         lambda t: pt.fractional_max_pool3d(t, 2, output_ratio=0.5, _random_samples=s3), x3),
        ("max_unpool1d", lambda t: pt.max_unpool1d(t, i1, 2), v1),
        ("max_unpool2d", lambda t: pt.max_unpool2d(t, i2, 2, output_size=(7, 7)), v2),
        ("max_unpool3d", lambda t: pt.max_unpool3d(t, i3, 2), v3),
    ]


OP_CALLS = _op_calls()


@pytest.mark.parametrize("name, fn, x", OP_CALLS, ids=[c[0] for c in OP_CALLS])
def test_gradcheck_float64(name, fn, x):
    assert torch.autograd.gradcheck(fn, (x.clone().requires_grad_(),))


@pytest.mark.parametrize("op", ["max_pool", "avg_pool", "lp_pool", "adaptive_max_pool",
                                "adaptive_avg_pool", "fractional_max_pool", "max_unpool"])
def test_custom_op_registration(op):
    """PyTorch's own checker of a custom op: schema, autograd registration, fake tensors
    (the ahead-of-time dispatch test, which compiles, runs once in the compile test)."""
    x = torch.randn(1, 2, 6, 5, dtype=torch.float64, requires_grad=True)
    v, i = tF.max_pool2d(x.detach(), 2, return_indices=True)
    args = {
        "max_pool": (x, [3, 3], [2, 2], [1, 1], [1, 1], False),
        "avg_pool": (x, [3, 2], [], [1, 0], True, False, None),
        "lp_pool": (x.abs() + 1, 2.0, [2, 2], [], False),
        "adaptive_max_pool": (x, [4, 3]),
        "adaptive_avg_pool": (x, [4, 3]),
        "fractional_max_pool": (x, [2, 2], [3, 3], torch.rand(1, 2, 2, dtype=torch.float64)),
        "max_unpool": (v.requires_grad_(), i, [2, 2], [2, 2], [0, 0], [6, 5]),
    }[op]
    result = torch.library.opcheck(
        getattr(torch.ops.poolnd, op).default, args,
        test_utils=("test_schema", "test_autograd_registration", "test_faketensor"))
    assert set(result.values()) == {"SUCCESS"}


def test_compile_has_no_graph_break_forward_and_backward():
    """One small model under torch.compile(fullgraph=True): dynamo sees no graph break, and
    AOT autograd traces forward and backward through the fake implementations and the
    backward ops (the aot_eager backend: no C compiler needed, the same graphs)."""
    def f(x):
        y = pt.max_pool2d(x, 3, 2, 1)
        z = pt.avg_pool2d(y.relu(), 2, ceil_mode=True)
        return pt.adaptive_max_pool2d(z, 1).sum() + pt.adaptive_avg_pool2d(y, (2, 3)).sum()

    explained = torch._dynamo.explain(f)(torch.randn(2, 3, 9, 10))
    assert explained.graph_break_count == 0 and explained.graph_count == 1
    compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
    x1 = torch.randn(2, 3, 9, 10, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_()
    out = compiled(x1)
    out.backward()
    f(x2).backward()
    assert torch.equal(out, f(x2.detach())) and torch.equal(x1.grad, x2.grad)


def test_no_grad_and_inference_mode():
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    with torch.no_grad():
        y = pt.max_pool2d(x, 2)
    assert not y.requires_grad and torch.equal(y, tF.max_pool2d(x, 2))
    with torch.inference_mode():
        xi = torch.randn(2, 3, 8, 8)
        y = pt.avg_pool2d(xi, 2)
        assert y.is_inference() and torch.equal(y, tF.avg_pool2d(xi, 2))


def test_inside_an_nn_module_with_an_optimizer_step():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3, padding=1)

        def forward(self, x, pool):
            return pool(self.conv(x), 2).sum()

    torch.manual_seed(0)
    net = Net()
    twin = Net()
    twin.load_state_dict(net.state_dict())
    x = torch.randn(2, 3, 8, 8)
    net(x, pt.max_pool2d).backward()
    twin(x, tF.max_pool2d).backward()
    assert torch.equal(net.conv.weight.grad, twin.conv.weight.grad)


def test_cpu_input_is_read_in_place_and_output_is_fresh():
    x = torch.randn(1, 2, 6, 6)
    y = pt.avg_pool2d(x, 1)  # one-cell windows: equal to the input, never a view of it
    assert torch.equal(y, x) and y.data_ptr() != x.data_ptr()
    y[:] = 0
    assert x.abs().sum() > 0


def test_unbatched_and_noncontiguous_inputs():
    x = torch.randn(3, 9, 10)
    assert torch.equal(pt.max_pool2d(x, 3, 2), tF.max_pool2d(x, 3, 2))
    xt = torch.randn(2, 3, 10, 9).transpose(2, 3)
    assert torch.equal(pt.avg_pool2d(xt, 2), tF.avg_pool2d(xt, 2))
    cl = torch.randn(2, 3, 8, 8).contiguous(memory_format=torch.channels_last)
    assert torch.equal(pt.max_pool2d(cl, 2), tF.max_pool2d(cl, 2))


def test_window_wholly_in_padding_index_minus_one_zero_gradient():
    """Departure 1, the crash case of issue 18: through poolnd.torch it runs safely."""
    for _ in range(50):
        x = torch.randn(1, 1, 2, 3, requires_grad=True)
        y, i = pt.max_pool2d(x, (2, 4), None, (1, 2), (3, 2), return_indices=True)
        y.sum().backward()
    assert torch.isneginf(y).all() and (i == -1).all()
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_errors_name_the_op_and_argument():
    x = torch.randn(1, 1, 4, 4)
    with pytest.raises(ValueError, match="max_pool2d"):
        pt.max_pool2d(x, 3, 1, 5)
    with pytest.raises(TypeError, match="kernel_size"):
        pt.max_pool2d(x, 2.5)
    with pytest.raises(TypeError, match="dtype"):
        pt.max_pool2d(x.bfloat16(), 2)
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        pt.avg_pool2d(np.zeros((1, 4, 4)), 2)


def test_fractional_draws_samples_as_torch_does():
    x = torch.randn(2, 3, 9, 9)
    torch.manual_seed(5)
    got = pt.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5), return_indices=True)
    torch.manual_seed(5)
    want = tF.fractional_max_pool2d(x, 2, output_ratio=(0.5, 0.5), return_indices=True)
    assert all(torch.equal(a, b) for a, b in zip(got, want))


def test_importing_poolnd_torch_registers_ops_and_patches_nothing():
    code = (
        "import torch, torch.nn.functional as F\n"
        "before = F.max_pool2d\n"
        "import poolnd.torch\n"
        "print(F.max_pool2d is before, poolnd.torch.is_patched(),"
        " hasattr(torch.ops.poolnd, 'max_pool'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True False True"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")
def test_cuda_tensors_go_through_the_host_and_come_back():
    x = torch.randn(2, 3, 9, 9, device="cuda", requires_grad=True)
    y, i = pt.max_pool2d(x, 3, 2, 1, return_indices=True)
    assert y.device == x.device and i.device == x.device
    y.sum().backward()
    xc = x.detach().cpu().requires_grad_()
    yc, ic = tF.max_pool2d(xc, 3, 2, 1, return_indices=True)
    yc.sum().backward()
    assert torch.equal(y.cpu(), yc) and torch.equal(i.cpu(), ic)
    assert torch.equal(x.grad.cpu(), xc.grad)
