"""Every layer class of ``poolnd.nn`` on Dask (lazy: no input block is read before compute)
and on torch tensors (tensors out), with the NumPy layer's values and gradients."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import torch
from helpers import assert_identical

import poolnd

SAMPLES = np.array([[[0.3, 0.7], [0.1, 0.9], [0.5, 0.5]]] * 2)  # (N, C, 2) fractional draws
SAMPLES3 = np.concatenate([SAMPLES, SAMPLES[..., :1]], axis=-1)

# name -> (constructor arguments, spatial rank)
LAYERS = {
    "MaxPool1d": ((3, 2, 1), 1), "MaxPool2d": ((3, 2, 1), 2), "MaxPool3d": ((2,), 3),
    "AvgPool1d": ((3, 2, 1), 1), "AvgPool2d": ((3, 2, 1), 2), "AvgPool3d": ((2,), 3),
    "LPPool1d": ((2, 3, 2), 1), "LPPool2d": ((2, 3, 2), 2), "LPPool3d": ((2, 2), 3),
    "AdaptiveMaxPool1d": ((5,), 1), "AdaptiveMaxPool2d": ((5,), 2),
    "AdaptiveMaxPool3d": ((3,), 3),
    "AdaptiveAvgPool1d": ((5,), 1), "AdaptiveAvgPool2d": ((5,), 2),
    "AdaptiveAvgPool3d": ((3,), 3),
    "FractionalMaxPool2d": ((2, 4, None, False, SAMPLES), 2),
    "FractionalMaxPool3d": ((2, 2, None, False, SAMPLES3), 3),
    "BlurPool1d": ((3,), 1), "BlurPool2d": ((3,), 2),
    "MaxBlurPool1d": ((3,), 1), "MaxBlurPool2d": ((3,), 2),
    "MaxUnpool1d": ((2,), 1), "MaxUnpool2d": ((2,), 2), "MaxUnpool3d": ((2,), 3),
}


def test_the_table_names_every_layer():
    assert set(LAYERS) == set(poolnd.nn.__all__) - {"Module"}


def _inputs(name: str, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    _, nd = LAYERS[name]
    shape = (2, 3, *((12,), (12, 10), (8, 6, 4))[nd - 1])  # even: unpooling restores it
    x = rng.standard_normal(shape)
    if name.startswith("MaxUnpool"):  # the values and indices of a max pooling
        pool = getattr(poolnd.functional, f"max_pool{nd}d")
        return pool(x, 2, return_indices=True)
    return (x,)


def _chunked(a: np.ndarray) -> da.Array:
    return da.from_array(a, chunks=tuple(max(1, n // 2) for n in a.shape))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_stays_lazy_on_dask(name, rng):
    args, _ = LAYERS[name]
    inputs = _inputs(name, rng)
    reads: list[object] = []

    def count(block: np.ndarray, block_info=None) -> np.ndarray:
        reads.append(block_info)
        return block

    lazy = [_chunked(a).map_blocks(count, dtype=a.dtype) for a in inputs]
    reads.clear()  # map_blocks may probe the function for its metadata
    layer, ref = getattr(poolnd.nn, name)(*args), getattr(poolnd.nn, name)(*args)
    out = layer(*lazy)
    expected = ref(*inputs)
    g = np.ones(expected.shape, expected.dtype)
    grad = layer.backward(da.from_array(g))
    assert reads == [], f"{name} computed its Dask input before compute()"
    assert isinstance(out, da.Array) and isinstance(grad, da.Array)
    assert_identical(out.compute(), expected)
    assert_identical(grad.compute(), ref.backward(g))
    assert reads


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_every_layer_takes_and_returns_torch_tensors(name, rng):
    args, _ = LAYERS[name]
    inputs = _inputs(name, rng)
    layer, ref = getattr(poolnd.nn, name)(*args), getattr(poolnd.nn, name)(*args)
    out = layer(*(torch.from_numpy(a) for a in inputs))
    expected = ref(*inputs)
    g = np.ones(expected.shape, expected.dtype)
    grad = layer.backward(torch.from_numpy(g))
    assert isinstance(out, torch.Tensor) and isinstance(grad, torch.Tensor)
    assert_identical(out.numpy(), expected)
    assert_identical(grad.numpy(), ref.backward(g))
