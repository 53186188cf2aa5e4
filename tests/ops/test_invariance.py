"""poolnd.invariance: the lecture's two weak-invariance claims, measured.

Expected numbers come from torch (``torch.roll`` and torch's pooling) or are worked out by
hand; the comparison formulas are restated here, not imported.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as tF
from hypothesis import given
from hypothesis import strategies as st

import poolnd
from poolnd import invariance

F = poolnd.functional


def _expected(reference: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """Unchanged fraction (to 1e-6 of the largest value) and rms change / std, restated."""
    scale = np.abs(reference).max()
    same = np.abs(other - reference) <= 1e-6 * scale + 1e-6 * np.abs(reference)
    change = np.sqrt(np.mean((other - reference) ** 2)) / np.std(reference)
    return float(same.mean()), float(change)


# -------------------------------------------------------------------------------------------
# hand-worked


def test_zhang_toy_signal_by_hand():
    # [0 0 1 1 0 0 1 1] max-pools to [0 1 0 1]; shifted by one, [1 0 0 1 1 0 0 1] pools to
    # [1 1 1 1]: half the outputs change; rms change 1/sqrt(2) over std 1/2 = sqrt(2)
    x = np.array([[[0.0, 0, 1, 1, 0, 0, 1, 1]]])
    result = invariance.shift_consistency(poolnd.nn.MaxPool1d(2), x, 2)
    assert result.labels == ("shift 1",)
    np.testing.assert_array_equal(result.unchanged, [0.5])
    np.testing.assert_allclose(result.change, [np.sqrt(2)], rtol=1e-15)
    # average pooling: [0 1 0 1] -> [1/2 1/2 1/2 1/2]: nothing unchanged, rms 1/2 over 1/2
    result = invariance.shift_consistency(poolnd.nn.AvgPool1d(2), x, 2)
    np.testing.assert_array_equal(result.unchanged, [0.0])
    np.testing.assert_allclose(result.change, [1.0], rtol=1e-15)


def test_lecture_block_permutation_by_hand():
    # the lecture's input with each block reversed pools to the same max and mean
    x = np.array([[[1.0, 2, -1, 0, 2, 3, -2, 0]]])
    for layer in (poolnd.nn.MaxPool1d(2), poolnd.nn.AvgPool1d(2)):
        result = invariance.permutation_consistency(layer, x, 2, trials=5)
        assert result.labels == tuple(f"permutation {i}" for i in range(1, 6))
        np.testing.assert_array_equal(result.unchanged, np.ones(5))
        np.testing.assert_array_equal(result.change, np.zeros(5))


def test_identical_outputs_and_constant_outputs():
    # a constant output that stays constant: unchanged, change 0; that moves: change inf
    x = np.ones((1, 1, 4, 4))
    same = invariance.shift_consistency(poolnd.nn.MaxPool2d(2), x, 2)
    np.testing.assert_array_equal(same.change, [0, 0, 0])
    step = np.zeros((1, 1, 4))
    step[..., 0] = 1.0
    moved = invariance.shift_consistency(lambda a: a[..., 0], step, 2)
    assert moved.change.tolist() == [float("inf")] and moved.unchanged.tolist() == [0.0]


# -------------------------------------------------------------------------------------------
# against torch


@pytest.mark.parametrize("stride", [2, 3])
def test_shift_consistency_matches_torch_2d(stride, rng):
    x = rng.standard_normal((3, 2, 12, 12))
    for name, ours in (("max", poolnd.nn.MaxPool2d(stride)), ("avg", poolnd.nn.AvgPool2d(stride))):
        result = invariance.shift_consistency(ours, x, stride)
        torch_pool = getattr(tF, f"{name}_pool2d")
        reference = torch_pool(torch.from_numpy(x), stride).numpy()
        shifts = [s for s in itertools.product(range(stride), repeat=2) if any(s)]
        assert result.labels == tuple(f"shift {s}" for s in shifts)
        for i, shift in enumerate(shifts):
            moved = torch_pool(torch.roll(torch.from_numpy(x), shift, (2, 3)), stride).numpy()
            unchanged, change = _expected(reference, moved)
            assert result.unchanged[i] == pytest.approx(unchanged, abs=1e-12)
            assert result.change[i] == pytest.approx(change, rel=1e-9)
        assert result.mean_unchanged == pytest.approx(np.mean(result.unchanged))
        assert result.mean_change == pytest.approx(np.mean(result.change))


@given(st.integers(1, 3), st.integers(1, 4), st.integers(0, 2**32 - 1), st.data())
def test_max_and_avg_are_invariant_to_block_permutations(nd, block, seed, data):
    # the lecture's first claim, for any shape: torch pools the permuted input to the same
    rng = np.random.default_rng(seed)
    spatial = [data.draw(st.integers(block, 3 * block + 2)) for _ in range(nd)]
    x = rng.integers(-5, 6, size=(2, 2, *spatial)).astype(np.float64)
    permuted = invariance.permute_blocks(x, block, rng)
    for op in ("max", "avg"):
        pool = getattr(tF, f"{op}_pool{nd}d")
        np.testing.assert_array_equal(pool(torch.from_numpy(permuted), block).numpy(),
                                      pool(torch.from_numpy(x), block).numpy())
    result = invariance.permutation_consistency(
        lambda a: F.max_pool2d(a, block) if nd == 2 else poolnd.max_pool(a, (block,) * nd),
        x, block, trials=2, rng=rng)
    np.testing.assert_array_equal(result.unchanged, [1.0, 1.0])


@given(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3)),
       st.integers(0, 2**32 - 1))
def test_permute_blocks_permutes_inside_each_tile_only(nd, blocks, seed):
    rng = np.random.default_rng(seed)
    block = blocks[:nd]
    spatial = tuple(int(rng.integers(1, 8)) for _ in range(nd))
    x = rng.standard_normal((2, 3, *spatial))
    y = invariance.permute_blocks(x, block, rng)
    assert y.shape == x.shape and not np.shares_memory(x, y)
    counts = [n // b for n, b in zip(spatial, block)]
    covered = np.zeros(spatial, bool)
    for tile in itertools.product(*(range(c) for c in counts)):
        index = (Ellipsis, *(slice(t * b, (t + 1) * b) for t, b in zip(tile, block)))
        covered[index[1:]] = True
        for n, c in itertools.product(range(2), range(3)):
            np.testing.assert_array_equal(np.sort(y[n, c][index].ravel()),
                                          np.sort(x[n, c][index].ravel()))
    np.testing.assert_array_equal(y[..., ~covered], x[..., ~covered])


def test_permutations_are_random_and_reproducible(rng):
    x = np.arange(64.0).reshape(1, 1, 8, 8)
    a = invariance.permute_blocks(x, 2, np.random.default_rng(5))
    b = invariance.permute_blocks(x, 2, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, x)
    # blocks are permuted independently: not every 2x2 tile gets the same permutation
    tiles = a.reshape(4, 2, 4, 2).transpose(0, 2, 1, 3).reshape(16, 4)
    orders = {tuple(np.argsort(t)) for t in tiles}
    assert len(orders) > 1


# -------------------------------------------------------------------------------------------
# the comparison: blur pooling trades permutation invariance for shift consistency


def test_compare_ranks_blur_above_max_on_noise_and_smooth_images(rng):
    for x in (rng.standard_normal((8, 2, 16, 16)), invariance.smooth_images(8, 2, 16)):
        table = invariance.compare(x, 2)
        assert list(table) == ["max", "average", "blur", "max-blur"]
        for name in ("max", "average"):
            assert table[name][1].mean_unchanged == 1.0
        for name in ("blur", "max-blur"):
            assert table[name][1].mean_unchanged < 0.5
            assert table[name][0].mean_change < table["max"][0].mean_change
            assert table[name][0].mean_change < table["average"][0].mean_change


def test_compare_uses_the_given_pools_and_is_reproducible(rng):
    x = rng.standard_normal((2, 1, 9))
    pools = {"max3": poolnd.nn.MaxPool1d(3), "blur3": poolnd.nn.BlurPool1d(1, stride=3)}
    first = invariance.compare(x, 3, pools=pools, trials=3, rng=np.random.default_rng(1))
    again = invariance.compare(x, 3, pools=pools, trials=3, rng=np.random.default_rng(1))
    assert list(first) == ["max3", "blur3"]
    assert first["max3"][0].labels == ("shift 1", "shift 2")
    for name in pools:
        for a, b in zip(first[name], again[name]):
            np.testing.assert_array_equal(a.change, b.change)
    text = invariance.format_table(first, 3)
    assert text.splitlines()[0].split() == ["shifted", "by", "1..2", "cells", "blocks",
                                            "permuted"]
    assert text.splitlines()[2].split() == [
        "max3", f"{first['max3'][0].mean_unchanged:.3f}", f"{first['max3'][0].mean_change:.3f}",
        "1.000", "0.000"]


def test_smooth_images_are_seeded_and_normalised():
    a = invariance.smooth_images(3, 2, 10, seed=4)
    np.testing.assert_array_equal(a, invariance.smooth_images(3, 2, 10, seed=4))
    assert a.shape == (3, 2, 10, 10)
    assert a.std() == pytest.approx(1.0)
    # smooth: neighbours are strongly correlated, unlike white noise
    assert np.corrcoef(a[..., :-1].ravel(), a[..., 1:].ravel())[0, 1] > 0.8


def test_standard_pools_1d():
    pools = invariance.standard_pools(3, ndim=1)
    x = np.random.default_rng(0).standard_normal((1, 1, 12))
    np.testing.assert_array_equal(pools["max"](x), F.max_pool1d(x, 3))
    np.testing.assert_array_equal(pools["blur"](x), F.blur_pool1d(x, "reflect", 3, 3))


# -------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(("call", "message"), [
    (lambda: invariance.shift_consistency(poolnd.nn.MaxPool1d(2), np.ones((2, 8)), 2),
     r"shift_consistency\(\): x must be a real \(N, C, \*spatial\) batch with at least one "
     r"spatial axis; got shape \(2, 8\) and dtype float64"),
    (lambda: invariance.shift_consistency(poolnd.nn.MaxPool1d(2), np.ones((1, 1, 8)), 0),
     r"shift_consistency\(\): max_shift must be positive; got 0"),
    (lambda: invariance.shift_consistency(poolnd.nn.MaxPool1d(2), np.ones((1, 1, 8)), 1),
     r"shift_consistency\(\): max_shift must allow a shift \(some size >= 2\); got 1"),
    (lambda: invariance.shift_consistency(
        lambda a: a[..., : int(a[0, 0, 0]) + 2], np.eye(4)[None], 2),
     r"shift_consistency\(\): pool must give outputs of one shape .*; got \(1, 4, 3\) and "
     r"\(1, 4, 2\)"),
    (lambda: invariance.permutation_consistency(poolnd.nn.MaxPool1d(2), np.ones((1, 1, 8)), 2,
                                                trials=0),
     r"permutation_consistency\(\): trials must be a positive int; got 0"),
    (lambda: invariance.permute_blocks(np.ones((1, 1, 8)), (2, 2), np.random.default_rng()),
     r"permute_blocks\(\): block must be a single int or a tuple of 1 ints"),
    (lambda: invariance.permute_blocks(np.array([[["a"]]]), 1, np.random.default_rng()),
     r"permute_blocks\(\): x must be a real \(N, C, \*spatial\) batch"),
    (lambda: invariance.standard_pools(2, ndim=3),
     r"standard_pools\(\): ndim must be 1 or 2 \(blur pooling's ranks\); got 3"),
])
def test_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_type_errors():
    with pytest.raises(TypeError, match=r"shift_consistency\(\): max_shift must be an int or a "
                                        r"tuple of ints; got 1.5"):
        invariance.shift_consistency(poolnd.nn.MaxPool1d(2), np.ones((1, 1, 8)), 1.5)
    with pytest.raises(TypeError, match=r"permute_blocks\(\): block must contain ints, not "
                                        r"bools; got True"):
        invariance.permute_blocks(np.ones((1, 1, 8)), True, np.random.default_rng())
