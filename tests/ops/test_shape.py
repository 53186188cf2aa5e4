"""Output-shape arithmetic (``poolnd.pooled_length`` and the private window helpers of
``poolnd._geometry``) against torch's output shapes and brute force."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as tF
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import out_len_ref

import poolnd
from poolnd import pooled_length

# private units tested directly: the window helpers behind pooled_length and the kernels
from poolnd._geometry import effective_kernel, output_band, window_bounds, window_sizes


def _torch_len(length, k, s, p, d, ceil, op="max"):
    """torch's output length, or None where torch refuses (output size below 1)."""
    x = torch.zeros(1, 1, length)
    try:
        if op == "max":
            return tF.max_pool1d(x, k, s, p, d, ceil, return_indices=True)[0].shape[-1]
        return tF.avg_pool1d(x, k, s, p, ceil).shape[-1]
    except RuntimeError:
        return None


@pytest.mark.parametrize("ceil", [False, True])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_pooled_length_matches_torch_max(dilation, ceil):
    checked = refused = 0
    for length, k, s in itertools.product(range(1, 13), range(1, 6), range(1, 5)):
        for p in range(k // 2 + 1):  # torch's padding rule
            got = pooled_length(length, k, s, p, p, dilation, ceil)
            expected = _torch_len(length, k, s, p, dilation, ceil)
            if expected is None:
                assert got < 1, (length, k, s, p)
                refused += 1
            else:
                assert got == expected, (length, k, s, p)
                checked += 1
    assert checked > 100 and refused > 0


@pytest.mark.parametrize("ceil", [False, True])
def test_pooled_length_matches_torch_avg(ceil):
    for length, k, s in itertools.product(range(1, 11), range(1, 6), range(1, 5)):
        for p in range(k // 2 + 1):
            expected = _torch_len(length, k, s, p, 1, ceil, op="avg")
            got = pooled_length(length, k, s, p, p, 1, ceil)
            assert got == expected if expected is not None else got < 1, (length, k, s, p)


def test_pooled_length_matches_torch_2d_3d_shapes():
    # per-dimension independence: each spatial size follows the 1d rule
    for ceil in (False, True):
        for (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) in itertools.product(
            [(5, 7), (4, 9)], [(2, 3), (3, 1)], [(1, 2), (3, 2)], [(0, 1), (1, 0)], [(1, 2), (2, 1)]
        ):
            if ph > kh // 2 or pw > kw // 2:
                continue  # torch's padding rule
            x = torch.zeros(1, 1, h, w)
            out = tF.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw), (dh, dw), ceil)
            assert out.shape[2:] == (
                pooled_length(h, kh, sh, ph, ph, dh, ceil),
                pooled_length(w, kw, sw, pw, pw, dw, ceil),
            )
        x3 = torch.zeros(1, 1, 5, 6, 7)
        out3 = tF.avg_pool3d(x3, (3, 2, 4), (2, 3, 1), (1, 1, 2), ceil)
        assert out3.shape[2:] == tuple(
            pooled_length(n, k, s, p, p, 1, ceil)
            for n, k, s, p in zip((5, 6, 7), (3, 2, 4), (2, 3, 1), (1, 1, 2))
        )


@settings(max_examples=300)
@given(
    length=st.integers(1, 40), kernel=st.integers(1, 7), stride=st.integers(1, 6),
    dilation=st.integers(1, 4), lo=st.integers(0, 12), hi=st.integers(0, 12),
    ceil=st.booleans(),
)
def test_pooled_length_matches_brute_force(length, kernel, stride, dilation, lo, hi, ceil):
    # asymmetric padding too, counted by walking the windows one by one. In ceil mode the
    # padding stays within poolnd's limit (half the dilated kernel): beyond it several windows
    # could start in the high padding, and pooled_length (like torch) drops only the last.
    span = (kernel - 1) * dilation + 1
    if ceil:
        lo, hi = min(lo, span // 2), min(hi, span // 2)
    expected = out_len_ref(length, kernel, stride, lo, hi, dilation, ceil)
    got = pooled_length(length, kernel, stride, lo, hi, dilation, ceil)
    assert got == expected if expected >= 1 else got < 1


def test_pooled_length_docstring_examples_and_defaults():
    assert pooled_length(8, 2, 2, 0, 0) == 4  # the lecture's 8 -> 4
    assert pooled_length(5, 2, 2, 0, 0, ceil_mode=True) == 3
    assert pooled_length(5, 3, 2, 1, 1, ceil_mode=True) == 3
    assert poolnd.pooled_length is pooled_length
    assert effective_kernel(3, 2) == 5 and effective_kernel(1, 7) == 1


@settings(max_examples=300)
@given(
    in_len=st.integers(1, 20), stride=st.integers(1, 5), pad_lo=st.integers(0, 6),
    dilation=st.integers(1, 4), offset=st.integers(0, 5), out_len=st.integers(1, 15),
)
def test_window_bounds_matches_brute_force(in_len, stride, pad_lo, dilation, offset, out_len):
    reads = [
        o for o in range(out_len)
        if 0 <= o * stride - pad_lo + offset * dilation < in_len
    ]
    first, count, in_start = window_bounds(out_len, in_len, stride, pad_lo, dilation, offset)
    assert count == len(reads)
    if reads:
        assert reads == list(range(reads[0], reads[0] + len(reads)))  # contiguous run
        assert first == reads[0]
        assert in_start == reads[0] * stride - pad_lo + offset * dilation
        assert 0 <= in_start < in_len


@settings(max_examples=300)
@given(
    in_len=st.integers(1, 20), kernel=st.integers(1, 5), stride=st.integers(1, 4),
    pad_lo=st.integers(0, 8), pad_hi=st.integers(0, 8), dilation=st.integers(1, 3),
    ceil=st.booleans(), data=st.data(),
)
def test_output_band_reads_the_same_cells_as_the_whole(in_len, kernel, stride, pad_lo, pad_hi,
                                                       dilation, ceil, data):
    out_len = out_len_ref(in_len, kernel, stride, pad_lo, pad_hi, dilation, ceil)
    if out_len < 1:
        return
    first = data.draw(st.integers(0, out_len - 1))
    stop = data.draw(st.integers(first + 1, out_len))

    def cells(o, n, lo):  # input positions output o's window reads, in window order
        return [o * stride - lo + c * dilation for c in range(kernel)
                if 0 <= o * stride - lo + c * dilation < n]

    whole = [cells(o, in_len, pad_lo) for o in range(first, stop)]
    band = output_band(first, stop, in_len, kernel, stride, pad_lo, dilation)
    if band is None:  # only when no window of the band reads an input cell
        assert not any(whole)
        return
    start, end, lo, hi = band
    assert 0 <= start < end <= in_len and 0 <= lo <= pad_lo and hi >= 0
    assert out_len_ref(end - start, kernel, stride, lo, hi, dilation, False) == stop - first
    got = [[start + i for i in cells(o, end - start, lo)] for o in range(stop - first)]
    assert got == whole


@settings(max_examples=300)
@given(
    in_len=st.integers(1, 20), kernel=st.integers(1, 6), stride=st.integers(1, 5),
    pad_lo=st.integers(0, 3), pad_hi=st.integers(0, 3), ceil=st.booleans(),
)
def test_window_sizes_matches_brute_force(in_len, kernel, stride, pad_lo, pad_hi, ceil):
    out_len = out_len_ref(in_len, kernel, stride, pad_lo, pad_hi, 1, ceil)
    padded, valid = window_sizes(out_len, in_len, kernel, stride, pad_lo, pad_hi)
    exp_padded, exp_valid = [], []
    for o in range(out_len):
        cells = range(o * stride - pad_lo, o * stride - pad_lo + kernel)
        exp_padded.append(sum(1 for c in cells if -pad_lo <= c < in_len + pad_hi))
        exp_valid.append(sum(1 for c in cells if 0 <= c < in_len))
    assert padded.tolist() == exp_padded
    assert valid.tolist() == exp_valid


def test_window_sizes_docstring_examples():
    assert [a.tolist() for a in window_sizes(3, 5, 2, 2, 0, 0)] == [[2, 2, 1], [2, 2, 1]]
    assert [a.tolist() for a in window_sizes(3, 5, 3, 2, 1, 1)] == [[3, 3, 3], [2, 3, 2]]
    assert window_bounds(out_len=3, in_len=5, stride=2, pad_lo=1, dilation=1, offset=0) == (1, 2, 1)


def test_make_window_remembers_windows_and_still_checks_every_call():
    """`make_window` is pure, so recent windows are remembered: the same arguments give the
    same (frozen) window, other arguments their own; an invalid call raises every time
    (errors are not remembered), and arguments that cannot be hashed are computed afresh."""
    from poolnd._args import Padding, make_window

    args = ("max_pool2d", (9, 11), (3, 3), (2, 2), Padding("torch", (1, 1)), (1, 1), False)
    first = make_window(*args)
    assert make_window(*args) is first
    assert first.out_shape == (5, 6)
    other = make_window("max_pool2d", (9, 12), (3, 3), (2, 2), Padding("torch", (1, 1)),
                        (1, 1), False)
    assert other.out_shape == (5, 6) and other.in_shape == (9, 12)
    for _ in range(2):
        with pytest.raises(ValueError, match=r"padding must be at most half"):
            make_window("max_pool2d", (9, 11), (3, 3), (2, 2), Padding("torch", (2, 2)),
                        (1, 1), False)
    unhashable = make_window("max_pool2d", (9, 11), (3, 3), (2, 2), [1, 1], (1, 1), False)
    assert unhashable == first and unhashable is not first


def test_checked_arguments_are_remembered_by_exact_type_and_still_checked():
    """`window_arguments` remembers the checked window arguments of a call, keyed by their
    exact types: a remembered ``kernel_size=1`` does not let ``True`` (a bool, which must
    raise) through, nor a float, NumPy ints are checked each call and give the same
    result, an invalid call raises every time, and the memory stays bounded."""
    import numpy as np

    from poolnd import _args

    memory = _args.window_arguments.__closure__  # (the wrapper's own cells)
    store = next(c.cell_contents for c in memory if isinstance(c.cell_contents, dict))
    x = np.arange(2 * 3 * 6 * 6, dtype=np.float32).reshape(2, 3, 6, 6)
    want = tF.max_pool2d(torch.from_numpy(x), 2).numpy()
    store.clear()
    for _ in range(2):
        np.testing.assert_array_equal(poolnd.functional.max_pool2d(x, 2), want)
    assert len(store) == 1
    poolnd.functional.max_pool2d(x, 1)  # True == 1 and hashes alike: the key tells them apart
    for _ in range(2):
        with pytest.raises(TypeError, match=r"kernel_size must contain ints, not bools"):
            poolnd.functional.max_pool2d(x, True)
        with pytest.raises(TypeError, match=r"kernel_size"):
            poolnd.functional.max_pool2d(x, 2.0)
        with pytest.raises(ValueError, match=r"padding must be at most half"):
            poolnd.functional.max_pool2d(x, 2, 2, 2)
    np.testing.assert_array_equal(poolnd.functional.max_pool2d(x, np.int64(2)), want)
    np.testing.assert_array_equal(poolnd.functional.max_pool2d(x, [2, 2]), want)
    # kept: 2; 1; (2, 2, 2), whose padding only breaks the window's rule, which
    # `make_window` checks against the kernel each call; [2, 2]. Not the bool, the float,
    # the NumPy int.
    assert len(store) == 4
    assert _args.exactly((1, [2, True])) == (tuple, ((int, 1), (list, ((int, 2),
                                                                      (bool, True)))))
    assert _args.exactly((1, np.int64(2))) is None
    for k in range(1, _args._REMEMBERED + 10):
        poolnd.max_pool(x, (1, k % 6 + 1), stride=(1, k))
    assert len(store) <= _args._REMEMBERED
