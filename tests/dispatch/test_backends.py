"""Every op on every Array API library: PyTorch (CPU; CUDA when present), JAX, CuPy (when a
GPU is present), array-api-strict (on each of its devices). The result must be the input's
library, dtype and device, holding the NumPy path's values (the NumPy path itself is tested
against torch elsewhere); gradients from `poolnd.vjp` likewise.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import array_api_strict as xps
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from helpers import assert_identical
from op_cases import CASES, Case, as_tuple, values_of

import poolnd

# private units tested directly: the registry of ops (every one has a case here) and the
# array-library conversion helpers
from poolnd._dispatch import convert as _backend
from poolnd._registry import _ENTRIES

F = poolnd.functional

HAS_CUDA = torch.cuda.is_available()
try:
    import cupy

    HAS_CUPY = cupy.cuda.runtime.getDeviceCount() > 0
except Exception:  # not installed, or no driver/device
    cupy = None
    HAS_CUPY = False

NO_CUDA = "no CUDA GPU on this machine (torch.cuda.is_available() is False)"
NO_CUPY = "CuPy with a CUDA GPU is not available on this machine"


@dataclass(frozen=True)
class Lib:
    """How a test makes, reads and recognises one library's arrays on one device."""

    name: str
    make: Callable[[np.ndarray], Any]
    back: Callable[[Any], np.ndarray]
    owns: Callable[[Any], bool]  # the right library and device
    index_dtype: Any = np.int64  # what int64 indices come back as


def _strict(device: str, index_dtype: Any = np.int64) -> Lib:
    dev = xps.Device(device)
    return Lib(
        f"array_api_strict-{device}",
        lambda a: xps.asarray(a, device=dev),
        lambda a: np.from_dlpack(xps.asarray(a, device=xps.Device("CPU_DEVICE"))),
        lambda a: type(a) is type(xps.ones(1)) and a.device == dev,
        index_dtype,
    )


def _torch(device: str) -> Lib:
    return Lib(
        f"torch-{device}",
        lambda a: torch.from_numpy(np.array(a)).to(device),
        lambda t: t.detach().cpu().numpy(),
        lambda t: isinstance(t, torch.Tensor) and t.device.type == device,
    )


_JAX_DEVICE = jax.devices("cpu")[0]

LIBS = [
    pytest.param(_torch("cpu"), id="torch-cpu"),
    pytest.param(_torch("cuda"), id="torch-cuda", marks=pytest.mark.skipif(not HAS_CUDA,
                                                                          reason=NO_CUDA)),
    pytest.param(Lib("jax", lambda a: jnp.asarray(a), np.asarray,
                     lambda a: isinstance(a, jax.Array) and a.devices() == {_JAX_DEVICE},
                     np.int32), id="jax"),  # JAX without jax_enable_x64 has no int64
    pytest.param(_strict("CPU_DEVICE"), id="strict-cpu"),
    pytest.param(_strict("device1"), id="strict-device1"),
    pytest.param(_strict("no_x64", np.int32), id="strict-no_x64"),
    pytest.param(
        Lib("cupy", lambda a: cupy.asarray(a), lambda a: cupy.asnumpy(a),
            lambda a: isinstance(a, cupy.ndarray)),
        id="cupy", marks=pytest.mark.skipif(not HAS_CUPY, reason=NO_CUPY)),
]


def _convert(lib: Lib, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every array argument in the library (indices in its index dtype)."""
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, np.ndarray):
            out[k] = lib.make(v.astype(lib.index_dtype) if v.dtype == np.int64 else v)
        else:
            out[k] = v
    return out


def _check(lib: Lib, got: Any, expected: Any) -> None:
    got_t, expected_t = as_tuple(got), as_tuple(expected)
    assert len(got_t) == len(expected_t)
    for g, e in zip(got_t, expected_t):
        assert lib.owns(g), (type(g), lib.name)
        if e.dtype == np.int64 and lib.index_dtype != np.int64:  # indices, narrowed
            e = e.astype(lib.index_dtype)
        assert_identical(lib.back(g), e)


def test_every_registered_op_has_a_case():
    assert {c.fn for c in CASES} == set(_ENTRIES)
    assert set(F.__all__) <= {c.fn.__name__ for c in CASES}


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_forward_is_the_numpy_result_in_the_input_library(lib: Lib, case: Case, rng):
    x, kwargs = case.build(rng)
    expected = case.fn(x, *case.args, **kwargs)
    got = case.fn(lib.make(x), *case.args, **_convert(lib, kwargs))
    _check(lib, got, expected)


@pytest.mark.parametrize("lib", LIBS)
@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_vjp_pulls_back_the_numpy_gradient_in_the_input_library(lib: Lib, case: Case, rng):
    x, kwargs = case.build(rng)
    out, pullback = poolnd.vjp(case.fn, x, *case.args, **kwargs)
    g = rng.standard_normal(values_of(out).shape).astype(np.float32)
    expected = pullback(g)
    out_l, pullback_l = poolnd.vjp(case.fn, lib.make(x), *case.args, **_convert(lib, kwargs))
    _check(lib, out_l, out)
    _check(lib, pullback_l(lib.make(g)), expected)


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.id for c in CASES if c.grad])
def test_vjp_output_is_the_forward_output(case: Case, rng):
    """vjp binds the public signature's defaults (an implementation's may differ, as blur
    pooling's filt_size does), so its output is what the op itself returns."""
    x, kwargs = case.build(rng)
    out, _ = poolnd.vjp(case.fn, x, *case.args, **kwargs)
    for got, expected in zip(as_tuple(out), as_tuple(case.fn(x, *case.args, **kwargs)),
                             strict=True):
        assert_identical(got, expected)


@pytest.mark.parametrize("lib", LIBS)
def test_layers_forward_and_backward_in_the_input_library(lib: Lib, rng):
    x = rng.standard_normal((2, 3, 8, 7)).astype(np.float32)
    for layer, ref in [(poolnd.nn.MaxPool2d(3, 2, 1), poolnd.nn.MaxPool2d(3, 2, 1)),
                       (poolnd.nn.AdaptiveAvgPool2d((3, 2)), poolnd.nn.AdaptiveAvgPool2d((3, 2)))]:
        expected = ref(x)
        g = rng.standard_normal(expected.shape).astype(np.float32)
        _check(lib, layer(lib.make(x)), expected)
        _check(lib, layer.backward(lib.make(g)), ref.backward(g))


@pytest.mark.parametrize("dtype", [np.float16, np.float64, np.int8, np.uint8, np.int16,
                                   np.int32, np.int64, np.uint16, np.uint32, np.uint64])
def test_torch_dtypes_round_trip(dtype, rng):
    x = (rng.standard_normal((2, 3, 6, 5)) * 50).astype(dtype)
    for fn in (F.max_pool2d, F.avg_pool2d):
        got = fn(torch.from_numpy(x.copy()), 2)
        assert isinstance(got, torch.Tensor)
        assert_identical(got.numpy(), fn(x, 2))


def test_integer_layer_input_has_no_gradient():
    layer = poolnd.nn.MaxPool1d(2)
    out = layer(torch.arange(8, dtype=torch.int32).reshape(1, 8))
    assert out.dtype == torch.int32
    with pytest.raises(RuntimeError, match="last forward input was not floating point"):
        layer.backward(torch.ones(1, 4))


def test_torch_cpu_input_is_read_in_place_and_results_are_not_copied():
    t = torch.randn(2, 3, 8, 8)
    view = _backend.to_numpy(t, "max_pool2d")
    assert np.shares_memory(view, t.numpy())
    a = np.arange(6.0)
    assert np.shares_memory(_backend.from_numpy(a, t, "max_pool2d").numpy(), a)


def test_tensor_requiring_grad_is_pooled_without_a_graph_and_left_alone():
    t = torch.randn(1, 2, 6, 6, requires_grad=True)
    before = t.detach().clone()
    out = F.max_pool2d(t, 2)
    assert not out.requires_grad
    assert torch.equal(t.detach(), before)
    assert_identical(out.numpy(), F.max_pool2d(before.numpy(), 2))


def test_numpy_input_with_torch_indices_gives_numpy():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    v, i = F.max_pool2d(x, 2, return_indices=True)
    got = F.max_unpool2d(v, torch.from_numpy(i), 2)
    assert type(got) is np.ndarray
    assert_identical(got, F.max_unpool2d(v, i, 2))


def test_int32_indices_of_a_device_without_int64_unpool():
    dev = xps.Device("no_x64")
    x = np.random.default_rng(1).standard_normal((1, 2, 6, 6)).astype(np.float32)
    v, i = F.max_pool2d(xps.asarray(x, device=dev), 2, return_indices=True)
    assert i.dtype == xps.int32
    got = F.max_unpool2d(v, i, 2)
    expected = F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True), 2)
    assert_identical(np.from_dlpack(xps.asarray(got, device=xps.Device("CPU_DEVICE"))),
                     expected)


def test_indices_too_large_for_int32_raise():
    with pytest.raises(ValueError, match=r"max_pool2d\(\): the input's library has no int64 "
                                         r".*up to 4294967296.*do not fit in int32"):
        _backend._narrow_indices("max_pool2d", np.array([0, 2**32]))


@pytest.mark.parametrize(("make", "message"), [
    (lambda: torch.ones(1, 1, 4, 4, dtype=torch.float8_e5m2),  # (bfloat16 is taken now)
     r"max_pool2d\(\): input dtype must be .*NumPy equivalent; got torch.float8_e5m2"),
    (lambda: torch.ones(1, 1, 4, 4, dtype=torch.complex64),
     r"max_pool2d\(\): input dtype must be .*; got complex64"),
    (lambda: torch.ones(1, 1, 4, 4, dtype=torch.bool),
     r"max_pool2d\(\): input dtype must be .*; got bool"),
    (lambda: xps.ones((1, 4, 4), dtype=xps.bool),
     r"max_pool2d\(\): input dtype must be .*; got bool"),
    (lambda: jnp.ones((4, 4)),
     r"max_pool2d\(\): input must have 3 dims \(C, \*spatial\) or 4 dims"),
])
def test_bad_inputs_of_other_libraries_raise_the_numpy_errors(make, message):
    with pytest.raises(TypeError if "dtype" in message else ValueError, match=message):
        F.max_pool2d(make(), 2)


class _Unreadable:
    """An array-API object that offers neither DLPack nor a NumPy conversion."""

    def __array_namespace__(self, api_version=None):
        return xps

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("no host copy")


def test_an_array_numpy_cannot_read_is_named():
    with pytest.raises(TypeError, match=r"max_pool2d\(\): input must be an array NumPy can "
                                        r"read .*got _Unreadable \(no host copy\)"):
        F.max_pool2d(_Unreadable(), 2)


def test_bad_gradient_of_another_library_is_named():
    _, pullback = poolnd.vjp(F.avg_pool2d, torch.ones(1, 1, 4, 4), 2)
    with pytest.raises(ValueError, match=r"avg_pool2d\(\) backward: grad_output must have the "
                                         r"output's shape \(1, 1, 2, 2\); got shape \(1, 1, 3\)"):
        pullback(torch.ones(1, 1, 3))
    with pytest.raises(TypeError,
                       match=r"avg_pool2d\(\): grad_output dtype .*torch.float8_e5m2"):
        pullback(torch.ones(1, 1, 2, 2, dtype=torch.float8_e5m2))


def test_dtype_kind_reads_every_library_without_converting():
    assert _backend.dtype_kind(torch.ones(2, dtype=torch.int16)) == "i"
    assert _backend.dtype_kind(xps.ones(2, dtype=xps.uint8)) == "u"
    assert _backend.dtype_kind(jnp.ones(2)) == "f"
    assert _backend.dtype_kind(xps.ones(2, dtype=xps.bool)) == "b"
    assert _backend.dtype_kind([1.0, 2.0]) == "f"
    assert _backend.dtype_kind(torch.ones(2, dtype=torch.complex64)) == "V"


def test_plain_values_are_not_foreign():
    for v in (np.ones(2), np.float32(1), 3, 2.5, "same", (2, 2), [1], None, np.multiply,
              np.random.default_rng(0), torch.Size([2, 2])):
        assert not _backend.is_foreign(v)
    for v in (torch.ones(2), jnp.ones(2), xps.ones(2)):
        assert _backend.is_foreign(v)


def test_import_stays_light():
    code = ("import sys, numpy as np, poolnd; poolnd.max_pool(np.ones((1, 1, 4)), (2,)); "
            "print(sorted(m for m in ('array_api_compat', 'dask', 'torch', 'jax', 'zarr', "
            "'imageio', 'tifffile') if m in sys.modules))")
    src = os.path.dirname(os.path.dirname(poolnd.__file__))  # this checkout's poolnd
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    assert out.stdout.strip() == "[]"


@pytest.mark.skipif(not HAS_CUDA, reason=NO_CUDA)
def test_torch_cuda_results_stay_on_the_input_device(rng):
    x = rng.standard_normal((2, 3, 8, 8)).astype(np.float32)
    t = torch.from_numpy(x).to("cuda")
    v, i = F.max_pool2d(t, 3, 2, 1, return_indices=True)
    assert v.device == t.device and i.device == t.device
    out, pullback = poolnd.vjp(F.avg_pool2d, t, 2)
    grad = pullback(torch.ones_like(out))
    assert grad.device == t.device
    assert_identical(grad.cpu().numpy(), poolnd.vjp(F.avg_pool2d, x, 2)[1](np.ones((2, 3, 4, 4),
                                                                                   np.float32)))
