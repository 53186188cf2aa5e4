"""The max backward at stride 1 as a gather (`numba_rows.gather_argmax`): every input cell
adds, in output raster order, the gradients of the outputs that selected it. Bit for bit
PyTorch's gradient (NaN, signed zeros and ties in the input, -0.0 in the gradient; int32
and int64 indices; one and two threads; planes where the nine-term loop has no cell), the
selector's conditions, and the offsets' order."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import poolnd
from poolnd import _threads as tuning
from poolnd._args import Window
from poolnd._kernels import sliding

F = poolnd.functional


def _input(shape, dtype, rng):
    x = rng.standard_normal(shape).astype(dtype)
    x[..., 0, :2] = np.nan
    x[..., min(1, shape[-2] - 1), :3] = -0.0
    x[..., -1, -3:] = 0.0
    x[..., 2:, 1:3] = 5.0  # runs of ties: one cell selected by several outputs
    return x


@pytest.fixture
def kernels_used(monkeypatch):
    used: list[str] = []
    real = sliding.launch

    def spy(form, *args, **kwargs):
        used.append(form.name)
        return real(form, *args, **kwargs)

    monkeypatch.setattr(sliding, "launch", spy)
    return used


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("return_indices", [False, True])
@pytest.mark.parametrize("shape, kernel, padding", [
    ((2, 5, 12, 13), 3, 1),          # 3x3: the nine-term loop and the edge loops
    ((4, 32, 40, 40), 3, 1),         # large enough for a parallel launch
    ((1, 3, 3, 3), 3, 1),            # a 3x3 plane: the nine-term loop's cells are one
    ((2, 2, 1, 9), 3, 1),            # one row: no cell takes the nine-term loop
    ((2, 3, 9, 11), (3, 1), (1, 0)),
    ((2, 3, 10, 12), (1, 3), (0, 1)),
    ((2, 3, 8, 9), (3, 5), (1, 2)),  # 15 cells: one loop per offset
    ((2, 4, 30), 5, 2),              # 1d
    ((2, 4, 17), 3, 1),
    ((2, 4, 17), 3, 0),              # 1d, fewer outputs than cells
    ((2, 4, 9), 2, 1),               # 1d, more outputs than cells
    ((2, 3, 9, 11), 3, (0, 1)),      # fewer output rows than input rows
    ((2, 3, 9, 11), (2, 3), (1, 1)), # more output rows than input rows
])
def test_gather_is_pytorchs_gradient(rng, kernels_used, threads, return_indices, shape,
                                     kernel, padding):
    nd = len(shape) - 2
    for dtype in (np.float32, np.float64):
        x = _input(shape, dtype, rng)
        fn = getattr(F, f"max_pool{nd}d")
        before = poolnd.get_num_threads()
        poolnd.set_num_threads(threads)
        try:
            out, pullback = poolnd.vjp(fn, x, kernel, 1, padding,
                                       return_indices=return_indices)
            values = out[0] if return_indices else out
            g = rng.standard_normal(values.shape).astype(dtype)
            g.reshape(-1)[::5] = -0.0
            grad = pullback(g)
        finally:
            poolnd.set_num_threads(before)
        xt = torch.from_numpy(x).requires_grad_()
        getattr(torch.nn.functional, fn.__name__)(xt, kernel, 1, padding).backward(
            torch.from_numpy(g))
        np.testing.assert_array_equal(grad.view(np.uint8), xt.grad.numpy().view(np.uint8))
    assert "gather_argmax" in kernels_used and "scatter_argmax" not in kernels_used


def _win(kernel, stride, pad, dilation, in_shape, out_shape):
    return Window(kernel=kernel, stride=stride, dilation=dilation, pad=pad,
                  in_shape=in_shape, out_shape=out_shape)


def test_the_offsets_are_ascending_and_name_every_window_cell():
    win = _win((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), (5, 7), (5, 7))
    offsets = sliding._gather_offsets(win)
    assert offsets.tolist() == [-8, -7, -6, -1, 0, 1, 6, 7, 8]
    asym = _win((2, 3), (1, 1), ((0, 1), (1, 1)), (1, 1), (5, 7), (5, 7))
    assert sliding._gather_offsets(asym).tolist() == [-8, -7, -6, -1, 0, 1]


@pytest.mark.parametrize("win", [
    _win((3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), (8, 8), (4, 4)),      # stride 2
    _win((3, 3), (1, 1), ((2, 2), (2, 2)), (2, 2), (8, 8), (8, 8)),      # dilated
    _win((3, 3), (1, 1), ((0, 0), (0, 0)), (1, 1), (8, 8), (6, 6)),      # rows shorter
    _win((3, 9), (1, 1), ((1, 1), (4, 4)), (1, 1), (8, 4), (8, 4)),      # wider than a row
    _win((5, 5), (1, 1), ((2, 2), (2, 2)), (1, 1), (8, 8), (8, 8)),      # 25 cells
    _win((3, 3, 3), (1, 1, 1), ((1, 1),) * 3, (1, 1, 1), (4, 4, 4), (4, 4, 4)),
])
def test_the_scatter_serves_what_the_gather_does_not(win):
    assert sliding._gather_offsets(win) is None


def test_gather_cells_limit_follows_the_tuning(monkeypatch):
    win = _win((3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), (5, 7), (5, 7))
    monkeypatch.setattr(tuning, "GATHER_MAX_CELLS", 8)
    assert sliding._gather_offsets(win) is None


def test_gather_serves_channels_last_windows(rng, kernels_used):
    """Channels-last windows carry the channels as a last axis of kernel 1: the offsets
    step over them, and the gradient is PyTorch's on the NCHW tensor."""
    x = _input((2, 9, 11, 5), np.float32, rng)  # (N, H, W, C)
    out, pullback = poolnd.vjp(poolnd.max_pool, x, (3, 3), 1, 1, channels_last=True)
    g = rng.standard_normal(out.shape).astype(np.float32)
    grad = pullback(g)
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()
    torch.nn.functional.max_pool2d(xt, 3, 1, 1).backward(
        torch.from_numpy(np.ascontiguousarray(g.transpose(0, 3, 1, 2))))
    np.testing.assert_array_equal(np.ascontiguousarray(grad.transpose(0, 3, 1, 2)).view(np.uint8),
                                  xt.grad.numpy().view(np.uint8))
    assert "gather_argmax" in kernels_used
