"""Every form of the tile kernels (`poolnd._kernels.sliding.numba_tiles`) against torch 2.13 CPU.

Non-overlapping windows (kernel == stride, no padding or dilation) run the tile kernels,
picked per call by `poolnd._kernels.sliding._tile_kernel`: the ``2`` form for tiles two cells wide
without lanes, the general form otherwise (other widths, and channels-last calls, whose
channels become lanes); but where `poolnd._kernels.sliding._rows_over_tiles` says (short
rows, wide windows), max values and floating sums take the row kernels, whose bits must be
the tile kernels'. Each form runs serially and in parallel chunks, on data with ties,
signed zeros and NaN, with tails the tiles leave out, and is compared with torch bit for bit
(max values and indices) or within float rounding (averages; integers truncate). LP pooling
of order 2 over tiles (`poolnd._kernels.sliding.numba_squares`) runs the sum forms on squares made
in cache; it must give the bits of the separate passes (squares, average, root) and torch's
values within rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from helpers import assert_identical, launched_forms, to_torch

import poolnd

# private units tested directly: the window record the kernels take, the choice of tile
# kernel (called, and replaced to force the other kernel), the tiling and the one-pass LP
# form
import poolnd._kernels.sliding as K
from poolnd._args import make_window
from poolnd._kernels.sliding import _rows_over_tiles, _tile_kernel, _tiles, lp2_forward
from poolnd._threads import SUM2_MAX_WIDTH

F = poolnd.functional

# (kernel form, spatial shape, kernel, channels_last); sums take the ``2`` form only on
# output rows at most SUM2_MAX_WIDTH wide, so the wide row below takes both forms
FORMS = [
    ("block_max2", (9, 31), (3, 2), False),
    ("block_max2", (4, 2 * SUM2_MAX_WIDTH + 3), (2, 2), False),
    ("block_max2", (5, 8, 13), (2, 2, 2), False),
    ("block_max2", (29,), (2,), False),
    ("block_max", (9, 31), (2, 3), False),
    ("block_max", (3, 3 * 100 + 2), (2, 3), False),  # a row the max values keep tiled
    ("block_max", (7, 33), (3, 4), False),
    ("block_max", (3, 4 * 60 + 1), (2, 4), False),
    ("block_max", (8, 30), (2, 5), False),
    ("block_max", (4, 9 * 5 + 3), (2, 9), False),
    ("block_max", (9, 31), (2, 2), True),
    ("block_max", (5, 8, 13), (2, 2, 2), True),
]
IDS = [f"{f[0]}-{'x'.join(map(str, f[1]))}-k{'x'.join(map(str, f[2]))}"
       f"{'-cl' if f[3] else ''}" for f in FORMS]

_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_TMAX = {1: tF.max_pool1d, 2: tF.max_pool2d, 3: tF.max_pool3d}
_TAVG = {1: tF.avg_pool1d, 2: tF.avg_pool2d, 3: tF.avg_pool3d}


def _input(rng, spatial, dtype):
    x = rng.integers(-3, 4, size=(3, 12, *spatial)).astype(dtype)  # many ties; parallel
    if x.dtype.kind == "f":
        x[rng.random(x.shape) < 0.2] = -0.0
        x[rng.random(x.shape) < 0.01] = np.nan
    return x


def _form(name, spatial, kernel, channels_last, channels=12):
    shape = (*spatial, channels) if channels_last else spatial
    k = (*kernel, 1) if channels_last else kernel
    win = make_window("max_pool", shape, k, k, (0,) * len(k), (1,) * len(k), False)
    tiles = _tiles(win)
    assert tiles is not None
    kind = name.removeprefix("block_")
    return _tile_kernel(kind, tiles, win.out_shape[-1])[0].name


def _layout(x, channels_last):
    return np.moveaxis(x, 1, -1).copy() if channels_last else x


def _back(y, channels_last):
    return np.moveaxis(y, -1, 1) if channels_last else y


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize(("form", "spatial", "kernel", "channels_last"), FORMS, ids=IDS)
def test_max_tile_kernels_match_torch(form, spatial, kernel, channels_last, dtype, threads,
                                      rng, kernel_threads):
    kernel_threads(threads)
    assert _form("block_max", spatial, kernel, channels_last) == form
    assert _form("block_argmax", spatial, kernel, channels_last) == form.replace("max", "argmax")
    x = _input(rng, spatial, dtype)
    op, nd = _MAX[len(spatial)], len(spatial)
    xl = _layout(x, channels_last)
    values = _back(op(xl, kernel, channels_last=channels_last), channels_last)
    values_i, indices = op(xl, kernel, return_indices=True, channels_last=channels_last)
    t = to_torch(x if x.dtype.kind == "f" else x.astype(np.float64))
    tv, ti = _TMAX[nd](t, kernel, return_indices=True)
    expected = tv.numpy().astype(x.dtype)
    assert_identical(values, expected)
    assert_identical(_back(values_i, channels_last), expected)
    assert_identical(_back(indices, channels_last), ti.numpy())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32])
@pytest.mark.parametrize(("form", "spatial", "kernel", "channels_last"), FORMS, ids=IDS)
def test_sum_tile_kernels_match_torch(form, spatial, kernel, channels_last, dtype, threads,
                                      rng, kernel_threads):
    kernel_threads(threads)
    expected_form = form.replace("max", "sum")
    if spatial[-1] // kernel[-1] > SUM2_MAX_WIDTH:
        expected_form = "block_sum"
    assert _form("block_sum", spatial, kernel, channels_last) == expected_form
    x = _input(rng, spatial, dtype)
    x = np.nan_to_num(x) if x.dtype.kind == "f" else x
    op, nd = _AVG[len(spatial)], len(spatial)
    xl = _layout(x, channels_last)
    t = torch.from_numpy(x.astype(np.float64))
    got = _back(op(xl, kernel, channels_last=channels_last), channels_last)
    ref = _TAVG[nd](t, kernel).numpy()
    assert got.dtype == x.dtype
    if x.dtype.kind == "f":
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
        assert not np.signbit(got[got == 0]).any()  # PyTorch never returns -0.0
    else:  # integer averages truncate toward zero (exact here: small sums)
        assert_identical(got, np.trunc(ref).astype(x.dtype))
    sums = _back(poolnd.sum_pool(xl, kernel, channels_last=channels_last), channels_last)
    ref = _TAVG[nd](t, kernel, divisor_override=1).numpy() if nd > 1 else \
        tF.avg_pool1d(t, kernel).numpy() * kernel[0]
    np.testing.assert_allclose(sums, ref, rtol=1e-6, atol=1e-5)


# LP of order 2 over every tile form (channels-last LP calls run on strided channels-first
# views, which take the separate passes); a trailing kernel of 1 gives lanes; planes of
# 40 x 300 take several blocks of rows (`squares._SCRATCH_CELLS`) each
LP_FORMS = [(spatial, kernel) for _, spatial, kernel, last in FORMS if not last] + [
    ((9, 31), (2, 1)), ((5, 8, 13), (2, 2, 1)), ((6, 10), (3, 3)), ((40, 300), (2, 2))]
_LP = {1: F.lp_pool1d, 2: F.lp_pool2d, 3: F.lp_pool3d}
_TLP = {1: tF.lp_pool1d, 2: tF.lp_pool2d, 3: tF.lp_pool3d}


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("spatial", "kernel"), LP_FORMS,
                         ids=["x".join(map(str, s)) + "-k" + "x".join(map(str, k))
                              for s, k in LP_FORMS])
def test_lp2_tiles_give_the_separate_passes_bits(spatial, kernel, dtype, threads, rng,
                                                kernel_threads):
    kernel_threads(threads)
    x = _input(rng, spatial, dtype) * dtype(1.5)
    x[rng.random(x.shape) < 0.01] = -np.inf
    x[rng.random(x.shape) < 0.02] = np.finfo(dtype).max / 4  # its square overflows
    nd = len(spatial)
    win = make_window("lp_pool", spatial, kernel, kernel, (0,) * nd, (1,) * nd, False)
    fused = lp2_forward(x, win)
    assert fused is not None
    # the public forward takes it; a gradient call keeps the separate passes
    assert_identical(_LP[nd](x, 2, kernel), fused)
    assert_identical(_LP[nd](x[0], 2.0, kernel), fused[0])  # unbatched
    separate, _ = poolnd.vjp(_LP[nd], x, 2, kernel)
    assert_identical(fused, separate, max_nan_payloads=False)
    ref = _TLP[nd](torch.from_numpy(x), 2, kernel[0] if nd == 1 else kernel).numpy()
    np.testing.assert_allclose(fused, ref, rtol=4 * np.finfo(dtype).eps, atol=0)


def test_lp2_tiles_leave_other_windows_and_dtypes_to_the_separate_passes(rng):
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    for kernel, stride, ceil in [(2, 1, False), (2, 2, True), (3, 2, False)]:
        win = make_window("lp_pool", (9, 9), (kernel,) * 2, (stride,) * 2, (0, 0), (1, 1), ceil)
        assert lp2_forward(x, win) is None  # overlapping or partial windows
        ref = tF.lp_pool2d(torch.from_numpy(x), 2, kernel, stride, ceil).numpy()
        np.testing.assert_allclose(F.lp_pool2d(x, 2, kernel, stride, ceil), ref, rtol=1e-6)
    win = make_window("lp_pool", (9, 9), (3, 3), (3, 3), (0, 0), (1, 1), False)
    assert lp2_forward(x.astype(np.float16), win) is None
    assert lp2_forward(x.astype(np.int32), win) is None


def _at_the_end_of_mapped_memory(x: np.ndarray) -> np.ndarray:
    """A copy of ``x`` whose last byte is the last readable one: the page after it is
    mapped unreadable, so a kernel reading one cell past the input crashes."""
    import ctypes
    import mmap

    page = mmap.PAGESIZE
    total = (x.nbytes + page - 1) // page * page + page
    memory = mmap.mmap(-1, total)
    cells = np.frombuffer(memory, np.uint8)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    assert libc.mprotect(cells.ctypes.data + total - page, page, 0) == 0  # PROT_NONE
    start = total - page - x.nbytes
    y = cells[start:start + x.nbytes].view(x.dtype).reshape(x.shape)
    y[...] = x
    return y  # (its base, the buffer of ``memory``, keeps the mapping alive)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("shape, k", [((2, 3, 6, 28), 2), ((3, 5, 4, 10, 22), 2),
                                      ((1, 2, 9, 30), (3, 2))])
def test_padded_passes_never_read_past_the_input(rng, shape, k, threads):
    """The 2-wide tile forms run short rows a multiple of 16 outputs wide, reading on into
    the next input row; where fewer than that many cells follow (the last rows of the
    input) they run the row's own width. On input that ends where readable memory ends,
    the results are still torch's."""
    nd = len(shape) - 2
    x = rng.standard_normal(shape).astype(np.float32)
    x[..., 0, :3] = np.nan
    guarded = _at_the_end_of_mapped_memory(x)
    before = poolnd.get_num_threads()
    poolnd.set_num_threads(threads)
    try:
        got_max = getattr(F, f"max_pool{nd}d")(guarded, k)
        got_avg = getattr(F, f"avg_pool{nd}d")(guarded, k)
    finally:
        poolnd.set_num_threads(before)
    xt = torch.from_numpy(x)
    assert_identical(got_max, getattr(tF, f"max_pool{nd}d")(xt, k).numpy())
    np.testing.assert_allclose(got_avg, getattr(tF, f"avg_pool{nd}d")(xt, k).numpy(),
                               rtol=1e-6, atol=1e-6)


# (spatial, kernel, dtype, max values routed, sums routed): `_rows_over_tiles`' bounds,
# on either side; max 3 wide on rows of at most 192 bytes, 4 wide of 112, 5 and more
# always; floating sums 3 wide on rows of at most 192 bytes
ROUTES = [
    ((9, 57), (3, 3), np.float32, True, True),  # rows of 19 outputs
    ((4, 3 * 48 + 2), (2, 3), np.float32, True, True),  # 192 bytes
    ((4, 3 * 49), (2, 3), np.float32, False, False),  # 196
    ((4, 3 * 24), (2, 3), np.float64, True, True),  # 192
    ((4, 3 * 25), (2, 3), np.float64, False, False),
    ((9, 57), (3, 3), np.int32, True, False),  # integer sums stay tiled
    ((9, 57), (3, 3), np.int16, True, False),
    ((7, 4 * 28), (3, 4), np.float32, True, False),  # 112 bytes; sums 4 wide stay tiled
    ((7, 4 * 29), (3, 4), np.float32, False, False),
    ((10, 56), (5, 5), np.float32, True, False),  # sums 5 wide and more stay tiled
    ((3, 8 * 7), (2, 8), np.float64, True, False),
    ((7 * 60,), (7,), np.float64, True, False),
    ((4, 8, 3 * 9), (2, 2, 3), np.float32, True, True),
    ((4, 8, 15), (2, 2, 3), np.float32, False, False),  # 5 outputs a row: packed
    ((8, 57), (2, 2), np.float32, False, False),  # 2 wide: the ``2`` forms
    # rows of at most half a vector (64-byte vectors) stay tiled, packed (`numba_tiles.packs`)
    ((7, 7), (7, 7), np.float32, False, False),  # a lone output a row
    ((6, 3 * 8), (3, 3), np.float32, False, False),  # 8 float32 outputs: 64 bytes
    ((6, 3 * 9), (3, 3), np.float32, True, True),  # 9: 72 bytes, the row kernels
    ((8, 12), (4, 4), np.float64, False, False),  # 3 float64 outputs: 48 bytes
    ((10, 25), (5, 5), np.float64, True, False),  # 5: 80 bytes
    ((6, 48), (3, 3), np.int16, False, False),  # int16 max packed (64 bytes), int64 sums not
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("spatial", "kernel", "dtype", "max_routed", "sum_routed"), ROUTES,
                         ids=[f"{'x'.join(map(str, r[0]))}-k{'x'.join(map(str, r[1]))}-"
                              f"{np.dtype(r[2]).name}" for r in ROUTES])
def test_tiles_on_short_rows_or_wide_windows_take_the_row_kernels_with_the_same_bits(
    spatial, kernel, dtype, max_routed, sum_routed, threads, rng, kernel_threads, monkeypatch
):
    kernel_threads(threads)
    nd = len(spatial)
    x = _input(rng, spatial, dtype)
    win = make_window("max_pool", spatial, kernel, kernel, (0,) * nd, (1,) * nd, False)
    tiles = _tiles(win)
    assert tiles is not None
    assert _rows_over_tiles("max", win, tiles, np.dtype(dtype)) == max_routed
    assert _rows_over_tiles("sum", win, tiles, np.dtype(dtype)) == sum_routed
    launched = launched_forms(monkeypatch)
    values = _MAX[nd](x, kernel)
    assert launched[-1].startswith("block_") != max_routed, launched
    t = to_torch(x if x.dtype.kind == "f" else x.astype(np.float64))
    assert_identical(values, _TMAX[nd](t, kernel).numpy().astype(x.dtype))
    finite = np.nan_to_num(x) if x.dtype.kind == "f" else x
    avg = _AVG[nd](finite, kernel)
    assert launched[-1].startswith("block_") != sum_routed, launched
    ref = _TAVG[nd](torch.from_numpy(finite.astype(np.float64)), kernel).numpy()
    if x.dtype.kind == "f":
        np.testing.assert_allclose(avg, ref, rtol=1e-6, atol=1e-6)
    else:
        assert_identical(avg, np.trunc(ref).astype(x.dtype))
    with monkeypatch.context() as m:  # the other kernel: the same bits
        m.setattr(K, "_rows_over_tiles",
                  lambda kind, *_: not (max_routed if kind == "max" else sum_routed))
        assert_identical(_MAX[nd](x, kernel), values)
        assert launched[-1].startswith("block_") == max_routed, launched
        assert_identical(_AVG[nd](finite, kernel), avg)
        assert launched[-1].startswith("block_") == sum_routed, launched


def _assert_tile_average(x, width, got):
    """``got`` is the average of ``x``'s ``width`` x ``width`` tiles as NumPy gives it adding
    each window's cells row by row, left to right, from zero (PyTorch's order), and as
    torch gives it."""
    rows, n = x.shape[2] // width, x.shape[3] // width
    acc = np.zeros((*x.shape[:2], rows, n), np.float32)
    for b in range(width):
        for c in range(width):
            acc = acc + x[:, :, b:rows * width:width, c:n * width:width]
    assert_identical(got, acc / np.float32(width * width) + np.float32(0))
    assert_identical(got, tF.avg_pool2d(torch.from_numpy(x), width).numpy())


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("width", [5, 6, 7, 8, 9])
def test_wide_tile_sums_add_in_pytorchs_order(width, threads, rng, kernel_threads):
    """Tile sums 5 to 7 wide gather each kernel column's cells (`ADD_TILES`, a vector of
    outputs at a time, the last one masked), wider ones add cell by cell: either adds each
    window's cells row by row, left to right, from zero, as PyTorch does, so float32
    averages have torch's bits and those of NumPy adding the cells in that order; on rows
    of 1 to 40 outputs (less and more than a vector)."""
    kernel_threads(threads)
    for n in (1, 7, 16, 17, 40):
        x = rng.standard_normal((2, 3, 2 * width + 1, n * width + width - 1)).astype(np.float32)
        _assert_tile_average(x, width, F.avg_pool2d(x, width))


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("width", [3, 4, 5, 7, 9])
def test_short_tile_rows_pack_several_rows_into_a_vector(width, threads, rng, kernel_threads,
                                                         monkeypatch):
    """Rows of tiles of at most half a vector of outputs (1 to 8 float32 outputs) are taken
    several rows, of any planes, a vector at a time (`numba_tiles._pack`, `ADD_TILES`,
    `MAX_TILES`): the sums add each window's cells in PyTorch's order from zero, and the max
    values, NaN and signed zeros included, are torch's; over 7 planes of 3 rows each, so
    that vectors span planes and chunks end inside a vector."""
    kernel_threads(threads)
    launched = launched_forms(monkeypatch)
    for n in (1, 2, 3, 5, 8):
        x = rng.standard_normal((7, 1, 3 * width + 1, n * width + width - 1)).astype(np.float32)
        _assert_tile_average(x, width, F.avg_pool2d(x, width))
        assert launched[-1] == "block_sum_packed"
        x[rng.random(x.shape) < 0.2] = -0.0
        x[rng.random(x.shape) < 0.2] = 0.0
        x[rng.random(x.shape) < 0.02] = np.nan
        assert_identical(F.max_pool2d(x, width), tF.max_pool2d(torch.from_numpy(x), width).numpy())
        assert launched[-1] == "block_max_packed"
