"""The lecture's worked examples (Deep Learning 4.2, Pooling), as literal tests.

Expected values are the lecture's own numbers or computed by hand below.
"""

from __future__ import annotations

import numpy as np
import pytest

import poolnd

F = poolnd.functional

LECTURE_X = [1, 2, -1, 0, 2, 3, -2, 0]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_1d_max_pooling_example(dtype):
    x = np.array([LECTURE_X], dtype=dtype)  # one channel, width W = 8
    out = F.max_pool1d(x, 2)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [[2, 0, 3, 0]])  # width W / w = 4
    np.testing.assert_array_equal(poolnd.max_pool(x, (2,)), [[2, 0, 3, 0]])
    np.testing.assert_array_equal(poolnd.nn.MaxPool1d(2)(x[None]), [[[2, 0, 3, 0]]])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_1d_average_pooling_example(dtype):
    x = np.array([LECTURE_X], dtype=dtype)
    out = F.avg_pool1d(x, 2)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [[1.5, -0.5, 2.5, -1]])
    np.testing.assert_array_equal(poolnd.avg_pool(x, (2,)), [[1.5, -0.5, 2.5, -1]])
    np.testing.assert_array_equal(poolnd.nn.AvgPool1d(2)(x), [[1.5, -0.5, 2.5, -1]])


def test_1d_example_on_integers():
    x = np.array([[LECTURE_X]], dtype=np.int64)
    np.testing.assert_array_equal(F.max_pool1d(x, 2), [[[2, 0, 3, 0]]])
    # int64 averages truncate toward zero: 1.5 -> 1, -0.5 -> 0, 2.5 -> 2, -1 -> -1
    np.testing.assert_array_equal(F.avg_pool1d(x, 2), [[[1, 0, 2, -1]]])


def test_1d_example_indices_and_gradients():
    x = np.array([[LECTURE_X]], dtype=np.float64)
    _, indices = F.max_pool1d(x, 2, return_indices=True)
    np.testing.assert_array_equal(indices, [[[1, 3, 5, 7]]])  # where 2, 0, 3, 0 sit
    _, pullback = poolnd.vjp(F.max_pool1d, x, 2)
    np.testing.assert_array_equal(pullback(np.array([[[10.0, 20, 30, 40]]])),
                                  [[[0, 10, 0, 20, 0, 30, 0, 40]]])
    _, pullback = poolnd.vjp(F.avg_pool1d, x, 2)
    np.testing.assert_array_equal(pullback(np.array([[[10.0, 20, 30, 40]]])),
                                  [[[5, 5, 10, 10, 15, 15, 20, 20]]])


def test_2d_pooling_is_channel_wise():
    # C = 2 channels of 4x4; each pooled on its own with 2x2 non-overlapping windows
    ch0 = np.arange(16.0).reshape(4, 4)
    ch1 = 100 - np.arange(16.0).reshape(4, 4)
    x = np.stack([ch0, ch1])[None]  # N x C x H x W = 1 x 2 x 4 x 4
    mx = F.max_pool2d(x, 2)
    av = F.avg_pool2d(x, 2)
    assert mx.shape == av.shape == (1, 2, 2, 2)  # channels kept, H/h x W/w
    # channel 0 blocks: {0,1,4,5} {2,3,6,7} {8,9,12,13} {10,11,14,15}
    np.testing.assert_array_equal(mx[0, 0], [[5, 7], [13, 15]])
    np.testing.assert_array_equal(av[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    # channel 1 = 100 - channel 0: max is 100 - (block min), mean is 100 - (block mean)
    np.testing.assert_array_equal(mx[0, 1], [[100, 98], [92, 90]])
    np.testing.assert_array_equal(av[0, 1], [[97.5, 95.5], [89.5, 87.5]])
    np.testing.assert_array_equal(F.max_pool2d(x, (2, 2))[0, 1], [[100, 98], [92, 90]])


def test_2d_example_with_rectangular_kernel():
    # kernel (h, w) = (2, 4) on a 1 x 1 x 4 x 8 input: output 2 x 2 (floor(H/h) x floor(W/w))
    x = np.array([[LECTURE_X, LECTURE_X[::-1], [5, 5, 5, 5, 5, 5, 5, 5], [0, 0, 0, 0, 9, 0, 0, 0]]],
                 dtype=np.float32)[None]
    # rows 0-1 hold the lecture input and its reverse [0, -2, 3, 2, 0, -1, 2, 1]
    np.testing.assert_array_equal(F.max_pool2d(x, (2, 4)), [[[[3, 3], [5, 9]]]])
    # block sums: (1+2-1+0 + 0-2+3+2) = 5, (2+3-2+0 + 0-1+2+1) = 5, 20, 29; divided by 8
    np.testing.assert_array_equal(F.avg_pool2d(x, (2, 4)), [[[[0.625, 0.625], [2.5, 3.625]]]])


def test_weak_invariance_example():
    # reversing every block of the lecture input leaves max and average unchanged
    x = np.array([[LECTURE_X]], dtype=np.float64)
    shuffled = x.reshape(4, 2)[:, ::-1].reshape(1, 1, 8)
    np.testing.assert_array_equal(shuffled, [[[2, 1, 0, -1, 3, 2, 0, -2]]])
    np.testing.assert_array_equal(F.max_pool1d(shuffled, 2), [[[2, 0, 3, 0]]])
    np.testing.assert_array_equal(F.avg_pool1d(shuffled, 2), [[[1.5, -0.5, 2.5, -1]]])


def test_default_stride_is_kernel_size():
    # the lecture: default stride is the kernel size (unlike convolution's 1)
    x = np.array([[LECTURE_X]], dtype=np.float64)
    np.testing.assert_array_equal(F.max_pool1d(x, 2), F.max_pool1d(x, 2, stride=2))
    # "it can be modulated": stride 1 gives overlapping windows
    np.testing.assert_array_equal(F.max_pool1d(x, 2, stride=1), [[[2, 2, 0, 2, 3, 3, 0]]])
    assert poolnd.nn.MaxPool2d(3).stride == 3
