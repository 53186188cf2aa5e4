"""Every invalid argument raises ValueError (a wrong value) or TypeError (a wrong kind of value)
whose message names the op, the argument, the rule and the value; layers raise RuntimeError
for a backward without a (floating) forward.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch.nn.functional as tF

import poolnd

F = poolnd.functional
X1 = np.ones((1, 2, 8), dtype=np.float32)
X2 = np.ones((1, 2, 6, 6), dtype=np.float32)
X3 = np.ones((1, 1, 4, 4, 4), dtype=np.float32)


def m(*parts: str) -> str:
    """A regex matching the literal ``parts`` in this order, anything between them."""
    return ".*".join(re.escape(p) for p in parts)


def _pullback(fn, x, *args, **kwargs):
    return poolnd.vjp(fn, x, *args, **kwargs)[1]


def _backward_after_int_forward():
    layer = poolnd.nn.MaxPool2d(2)
    layer(X2.astype(np.int32))
    layer.backward(np.ones((1, 2, 3, 3)))


def _layer_backward_wrong_shape():
    layer = poolnd.nn.AvgPool2d(2)
    layer(X2)
    layer.backward(np.ones((1, 2, 2, 2)))


V, T, R = ValueError, TypeError, RuntimeError

CASES = [
    # ---- kernel_size
    ("kernel-zero-1d", lambda: F.max_pool1d(X1, 0), V,
     m("max_pool1d()", "kernel_size must be positive", "(0,)")),
    ("kernel-negative-2d", lambda: F.max_pool2d(X2, (2, -1)), V,
     m("max_pool2d()", "kernel_size must be positive", "(2, -1)")),
    ("kernel-zero-avg3d", lambda: F.avg_pool3d(X3, 0), V,
     m("avg_pool3d()", "kernel_size must be positive", "(0, 0, 0)")),
    ("kernel-negative-nd", lambda: poolnd.avg_pool(X2, (2, -3)), V,
     m("avg_pool()", "kernel_size must be positive", "(2, -3)")),
    ("kernel-bool", lambda: F.max_pool2d(X2, True), T,
     m("max_pool2d()", "kernel_size must contain ints, not bools", "True")),
    ("kernel-bool-in-tuple", lambda: F.avg_pool2d(X2, (2, False)), T,
     m("avg_pool2d()", "kernel_size must contain ints, not bools", "(2, False)")),
    ("kernel-numpy-bool", lambda: F.max_pool1d(X1, np.bool_(True)), T,
     m("max_pool1d()", "kernel_size", "not bools")),
    ("kernel-float", lambda: F.max_pool1d(X1, 2.0), T,
     m("max_pool1d()", "kernel_size must be an int or a tuple of ints", "2.0", "float")),
    ("kernel-float-in-list", lambda: F.max_pool2d(X2, [2, 2.5]), T,
     m("max_pool2d()", "kernel_size must be an int or a tuple of ints", "[2, 2.5]", "float")),
    ("kernel-str", lambda: F.avg_pool2d(X2, "2"), T,
     m("avg_pool2d()", "kernel_size must be an int or a tuple of ints", "'2'", "str")),
    ("kernel-none", lambda: F.max_pool2d(X2, None), T,
     m("max_pool2d()", "kernel_size must be an int or a tuple of ints", "None")),
    ("kernel-2d-array", lambda: F.max_pool2d(X2, np.full((2, 2), 2)), T,
     m("max_pool2d()", "kernel_size must be an int or a tuple of ints")),
    ("kernel-too-long", lambda: F.max_pool2d(X2, (2, 2, 2)), V,
     m("max_pool2d()", "kernel_size must be a single int or a tuple of 2 ints",
       "(2, 2, 2) of length 3")),
    ("kernel-too-short-3d", lambda: F.max_pool3d(X3, (2, 2)), V,
     m("max_pool3d()", "kernel_size", "tuple of 3 ints", "(2, 2) of length 2")),
    ("kernel-empty-2d", lambda: F.max_pool2d(X2, ()), V,
     m("max_pool2d()", "kernel_size", "tuple of 2 ints", "() of length 0")),
    ("kernel-empty-nd", lambda: poolnd.max_pool(X2, ()), V,
     m("max_pool()", "kernel_size must not be empty", "()")),
    # ---- stride
    ("stride-zero", lambda: F.max_pool1d(X1, 2, 0), V,
     m("max_pool1d()", "stride must be positive", "(0,)")),
    ("stride-negative", lambda: F.avg_pool2d(X2, 2, (1, -1)), V,
     m("avg_pool2d()", "stride must be positive", "(1, -1)")),
    ("stride-float", lambda: F.max_pool2d(X2, 2, 1.5), T,
     m("max_pool2d()", "stride must be an int or a tuple of ints", "1.5")),
    ("stride-bool", lambda: F.avg_pool1d(X1, 2, True), T,
     m("avg_pool1d()", "stride must contain ints, not bools", "True")),
    ("stride-str", lambda: F.max_pool2d(X2, 2, "1"), T,
     m("max_pool2d()", "stride must be an int or a tuple of ints", "'1'")),
    ("stride-wrong-length", lambda: F.max_pool3d(X3, 2, (1, 1)), V,
     m("max_pool3d()", "stride must be a single int or a tuple of 3 ints", "(1, 1) of length 2")),
    # ---- dilation
    ("dilation-zero", lambda: F.max_pool1d(X1, 2, dilation=0), V,
     m("max_pool1d()", "dilation must be positive", "(0,)")),
    ("dilation-negative", lambda: F.max_pool2d(X2, 2, dilation=(1, -2)), V,
     m("max_pool2d()", "dilation must be positive", "(1, -2)")),
    ("dilation-float", lambda: F.max_pool2d(X2, 2, dilation=2.0), T,
     m("max_pool2d()", "dilation must be an int or a tuple of ints", "2.0")),
    ("dilation-bool", lambda: F.max_pool3d(X3, 2, dilation=True), T,
     m("max_pool3d()", "dilation must contain ints, not bools", "True")),
    ("dilation-wrong-length", lambda: F.max_pool2d(X2, 2, dilation=(1, 1, 1)), V,
     m("max_pool2d()", "dilation must be a single int or a tuple of 2 ints", "of length 3")),
    # ---- padding
    ("padding-negative", lambda: F.max_pool1d(X1, 2, padding=-1), V,
     m("max_pool1d()", "padding must be non-negative", "(-1,)")),
    ("padding-negative-2d", lambda: F.avg_pool2d(X2, 3, padding=(0, -1)), V,
     m("avg_pool2d()", "padding must be non-negative", "(0, -1)")),
    ("padding-too-large", lambda: F.max_pool1d(X1, 3, padding=2), V,
     m("max_pool1d()", "padding must be at most half the dilated kernel",
       "padding=(2,)", "kernel_size=(3,)", "dilation=(1,)")),
    ("padding-too-large-dilated", lambda: F.max_pool2d(X2, 2, padding=(1, 3), dilation=(1, 3)),
     V, m("max_pool2d()", "padding must be at most half the dilated kernel", "padding=(1, 3)",
          "kernel_size=(2, 2)", "dilation=(1, 3)")),
    ("padding-too-large-avg", lambda: F.avg_pool2d(X2, 2, padding=2), V,
     m("avg_pool2d()", "padding must be at most half", "padding=(2, 2)", "kernel_size=(2, 2)")),
    ("padding-float", lambda: F.max_pool1d(X1, 2, padding=1.0), T,
     m("max_pool1d()", "padding must be an int or a tuple of ints", "1.0")),
    ("padding-unknown-mode", lambda: F.max_pool2d(X2, 2, padding="full"), V,
     m("max_pool2d()", "padding must be", "'valid', 'same', 'same_lower'", "got 'full'")),
    ("padding-bytes", lambda: F.max_pool2d(X2, 2, padding=b"same"), T,
     m("max_pool2d()", "padding must be an int", "(lo, hi) pairs", "b'same'")),
    ("padding-pair-of-three", lambda: F.max_pool2d(X2, 2, padding=((0, 1, 2), (0, 1))), V,
     m("max_pool2d()", "one (lo, hi) pair per spatial dimension", "((0, 1, 2), (0, 1))")),
    ("padding-pairs-mixed", lambda: F.max_pool2d(X2, 2, padding=(1, (0, 1))), V,
     m("max_pool2d()", "one (lo, hi) pair per spatial dimension", "(1, (0, 1))")),
    ("padding-pairs-count", lambda: F.avg_pool3d(X3, 2, padding=((0, 1), (1, 0))), V,
     m("avg_pool3d()", "3 (lo, hi) pair(s) for 3 spatial dimension(s)", "with 2")),
    ("padding-pairs-negative", lambda: F.max_pool1d(X1, 2, padding=((0, -1),)), V,
     m("max_pool1d()", "padding must be non-negative", "((0, -1),)")),
    ("padding-pairs-float", lambda: F.max_pool1d(X1, 2, padding=((0, 1.5),)), T,
     m("max_pool1d()", "padding must be an int or a tuple of ints", "1.5")),
    ("padding-pairs-no-window", lambda: F.max_pool1d(X1, 2, 2, ((0, 0),), 9), V,
     m("max_pool1d()", "output size must be at least 1", "padding=((0, 0),)")),
    ("padding-wrong-length", lambda: F.avg_pool3d(X3, 2, padding=(0, 0)), V,
     m("avg_pool3d()", "padding must be a single int or a tuple of 3 ints", "(0, 0) of length 2")),
    # ---- output size
    ("output-empty-1d", lambda: F.max_pool1d(X1, 9), V,
     m("max_pool1d()", "output size must be at least 1", "(8,)", "kernel_size=(9,)",
       "output size (0,)")),
    ("output-empty-2d", lambda: F.avg_pool2d(np.ones((1, 1, 2, 5)), (3, 2)), V,
     m("avg_pool2d()", "output size must be at least 1", "(2, 5)", "kernel_size=(3, 2)",
       "output size (0, 2)")),
    ("output-empty-dilated", lambda: F.max_pool1d(np.ones((1, 1, 4)), 2, 1, 1, 6), V,
     m("max_pool1d()", "output size must be at least 1", "dilation=(6,)", "output size (0,)")),
    # ---- input rank
    ("rank-1d-too-low", lambda: F.max_pool1d(np.ones(8), 2), V,
     m("max_pool1d()", "input must have 2 dims (C, *spatial) or 3 dims (N, C, *spatial)",
       "got shape (8,)")),
    ("rank-1d-too-high", lambda: F.max_pool1d(np.ones((1, 1, 1, 8)), 2), V,
     m("max_pool1d()", "input must have 2 dims", "got shape (1, 1, 1, 8)")),
    ("rank-2d-too-low", lambda: F.avg_pool2d(np.ones((4, 4)), 2), V,
     m("avg_pool2d()", "input must have 3 dims", "4 dims", "got shape (4, 4)")),
    ("rank-3d-too-high", lambda: F.max_pool3d(np.ones((1, 1, 1, 2, 2, 2)), 2), V,
     m("max_pool3d()", "input must have 4 dims", "5 dims", "got shape (1, 1, 1, 2, 2, 2)")),
    ("rank-nd", lambda: poolnd.max_pool(np.ones((2, 2)), (2, 2)), V,
     m("max_pool()", "input must have 3 dims", "got shape (2, 2)")),
    ("rank-scalar", lambda: F.max_pool2d(np.float32(1.0), 1), V,
     m("max_pool2d()", "input must have 3 dims", "got shape ()")),
    # ---- input kind / dtype
    ("input-complex", lambda: F.max_pool1d(np.ones((1, 1, 4), complex), 2), T,
     m("max_pool1d()", "input dtype must be float16, float32, float64 or an integer type",
       "complex128")),
    ("input-complex-avg", lambda: F.avg_pool2d(np.ones((1, 4, 4), np.complex64), 2), T,
     m("avg_pool2d()", "input dtype", "complex64")),
    ("input-object", lambda: F.max_pool1d(np.array([[[1, 2]]], dtype=object), 2), T,
     m("max_pool1d()", "input dtype", "object")),
    ("input-bool", lambda: F.max_pool1d(np.ones((1, 1, 4), bool), 2), T,
     m("max_pool1d()", "input dtype", "bool")),
    ("input-bool-avg", lambda: F.avg_pool1d(np.ones((1, 1, 4), bool), 2), T,
     m("avg_pool1d()", "input dtype", "bool")),
    ("input-datetime", lambda: F.max_pool1d(np.zeros((1, 1, 4), "datetime64[s]"), 2), T,
     m("max_pool1d()", "input dtype", "datetime64")),
    ("input-str", lambda: F.max_pool1d("abcd", 2), T,
     m("max_pool1d()", "input must be a real numeric array", "str")),
    ("input-bytes", lambda: F.avg_pool1d(b"abcd", 2), T,
     m("avg_pool1d()", "input must be a real numeric array", "bytes")),
    ("input-list-of-str", lambda: F.max_pool1d([["a", "b"]], 2), T,
     m("max_pool1d()", "input dtype", "<U1")),
    ("input-ragged", lambda: F.max_pool1d([[1.0, 2.0], [3.0]], 1), T,
     m("max_pool1d()", "input must be a real numeric array", "list")),
    ("input-none", lambda: F.max_pool1d(None, 1), T, m("max_pool1d()", "input", "object")),
    # ---- zero-size channel / spatial dims
    ("zero-channels", lambda: F.max_pool1d(np.ones((1, 0, 4)), 1), V,
     m("max_pool1d()", "channel and spatial sizes must be positive", "(1, 0, 4)")),
    ("zero-height", lambda: F.avg_pool2d(np.ones((1, 1, 0, 4)), 1), V,
     m("avg_pool2d()", "channel and spatial sizes must be positive", "(1, 1, 0, 4)")),
    ("zero-channels-unbatched", lambda: F.max_pool1d(np.ones((0, 4)), 1), V,
     m("max_pool1d()", "channel and spatial sizes must be positive", "(0, 4)")),
    ("zero-width-3d", lambda: F.max_pool3d(np.ones((2, 2, 2, 2, 0)), 1), V,
     m("max_pool3d()", "channel and spatial sizes must be positive", "(2, 2, 2, 2, 0)")),
    # ---- flags
    ("ceil-int", lambda: F.max_pool1d(X1, 2, ceil_mode=1), T,
     m("max_pool1d()", "ceil_mode must be a bool", "got 1 of type int")),
    ("ceil-none", lambda: F.avg_pool2d(X2, 2, ceil_mode=None), T,
     m("avg_pool2d()", "ceil_mode must be a bool", "None")),
    ("ceil-str", lambda: F.max_pool3d(X3, 2, ceil_mode="True"), T,
     m("max_pool3d()", "ceil_mode must be a bool", "'True'", "str")),
    ("return-indices-int", lambda: F.max_pool2d(X2, 2, return_indices=1), T,
     m("max_pool2d()", "return_indices must be a bool", "got 1 of type int")),
    ("return-indices-none", lambda: poolnd.max_pool(X2, (2, 2), return_indices=None), T,
     m("max_pool()", "return_indices must be a bool", "None")),
    ("count-include-pad-int", lambda: F.avg_pool1d(X1, 2, count_include_pad=0), T,
     m("avg_pool1d()", "count_include_pad must be a bool", "got 0 of type int")),
    ("count-include-pad-str", lambda: F.avg_pool2d(X2, 2, count_include_pad="yes"), T,
     m("avg_pool2d()", "count_include_pad must be a bool", "'yes'")),
    # ---- divisor_override
    ("divisor-zero", lambda: F.avg_pool2d(X2, 2, divisor_override=0), V,
     m("avg_pool2d()", "divisor_override must be a non-zero int or None", "got 0")),
    ("divisor-zero-3d", lambda: F.avg_pool3d(X3, 2, divisor_override=0), V,
     m("avg_pool3d()", "divisor_override must be a non-zero int", "0")),
    ("divisor-float", lambda: F.avg_pool2d(X2, 2, divisor_override=1.5), T,
     m("avg_pool2d()", "divisor_override", "1.5")),
    ("divisor-bool", lambda: F.avg_pool2d(X2, 2, divisor_override=True), T,
     m("avg_pool2d()", "divisor_override", "not bools", "True")),
    ("divisor-negative-unsigned",
     lambda: F.avg_pool2d(X2.astype(np.uint8), 2, divisor_override=-2), V,
     m("avg_pool2d()", "divisor_override must be positive for unsigned input", "uint8", "-2")),
    ("divisor-on-avg1d", lambda: F.avg_pool1d(X1, 2, divisor_override=2), T,
     "divisor_override"),  # torch's avg_pool1d has no such parameter either
    # ---- ndim of the N-d ops
    ("int-kernel-without-ndim", lambda: poolnd.max_pool(X2, 2), T,
     m("max_pool()", "an int kernel_size needs ndim=", "kernel_size=2", "ndim=None")),
    ("int-kernel-without-ndim-avg", lambda: poolnd.avg_pool(X2, 3), T,
     m("avg_pool()", "an int kernel_size needs ndim=", "kernel_size=3")),
    ("none-kernel-without-ndim", lambda: poolnd.max_pool(X2, None), T,
     m("max_pool()", "kernel_size", "ndim=", "kernel_size=None")),
    ("ndim-zero", lambda: poolnd.max_pool(X2, 2, ndim=0), V,
     m("max_pool()", "ndim must be a positive int", "got 0")),
    ("ndim-float", lambda: poolnd.avg_pool(X2, 2, ndim=2.0), T, m("avg_pool()", "ndim", "2.0")),
    ("ndim-bool", lambda: poolnd.max_pool(X2, 2, ndim=True), T,
     m("max_pool()", "ndim", "not bools", "True")),
    ("ndim-disagrees-with-kernel", lambda: poolnd.max_pool(X3, (2, 2), ndim=3), V,
     m("max_pool()", "kernel_size must be a single int or a tuple of 3 ints", "(2, 2)")),
    # ---- vjp
    ("vjp-numpy-fn", lambda: poolnd.vjp(np.max, X2), T,
     m("vjp()", "fn must be a differentiable poolnd op", "max")),
    ("vjp-lambda", lambda: poolnd.vjp(lambda x: x, X2), T,
     m("vjp()", "fn must be a differentiable poolnd op", "lambda")),
    ("vjp-string", lambda: poolnd.vjp("max_pool2d", X2, 2), T,
     m("vjp()", "fn must be a differentiable poolnd op", "'max_pool2d'")),
    ("vjp-torch-fn", lambda: poolnd.vjp(tF.max_pool2d, X2, 2), T,
     m("vjp()", "fn must be a differentiable poolnd op")),
    ("vjp-layer", lambda: poolnd.vjp(poolnd.nn.MaxPool2d(2), X2), T,
     m("vjp()", "fn must be a differentiable poolnd op", "MaxPool2d")),
    ("vjp-int-input", lambda: poolnd.vjp(F.max_pool2d, X2.astype(np.int64), 2), T,
     m("max_pool2d()", "gradients need a floating input", "int64")),
    ("vjp-uint8-input-avg", lambda: poolnd.vjp(F.avg_pool1d, X1.astype(np.uint8), 2), T,
     m("avg_pool1d()", "gradients need a floating input", "uint8")),
    ("vjp-int-input-nd", lambda: poolnd.vjp(poolnd.max_pool, X2.astype(np.int16), (2, 2)), T,
     m("max_pool()", "gradients need a floating input", "int16")),
    ("vjp-unknown-keyword", lambda: poolnd.vjp(F.max_pool2d, X2, 2, foo=1), T, "foo"),
    ("vjp-missing-kernel", lambda: poolnd.vjp(F.max_pool2d, X2), T, "kernel_size"),
    ("vjp-invalid-args", lambda: poolnd.vjp(F.max_pool2d, X2, 0), V,
     m("max_pool2d()", "kernel_size must be positive")),
    # ---- pullback
    ("pullback-wrong-shape", lambda: _pullback(F.max_pool2d, X2, 2)(np.ones((1, 2, 3))), V,
     m("max_pool2d() backward", "grad_output must have the output's shape (1, 2, 3, 3)",
       "got shape (1, 2, 3)")),
    ("pullback-wrong-shape-unbatched",
     lambda: _pullback(F.avg_pool1d, X1[0], 2)(np.ones((1, 2, 4))), V,
     m("avg_pool1d() backward", "output's shape (2, 4)", "got shape (1, 2, 4)")),
    ("pullback-transposed", lambda: _pullback(poolnd.avg_pool, X2, (3, 2))(np.ones((1, 2, 3, 2))),
     V, m("avg_pool() backward", "shape (1, 2, 2, 3)", "got shape (1, 2, 3, 2)")),
    ("pullback-complex",
     lambda: _pullback(F.max_pool2d, X2, 2)(np.ones((1, 2, 3, 3), complex)), T,
     m("max_pool2d() backward", "grad_output must be a real numeric array", "complex128")),
    ("pullback-object", lambda: _pullback(F.avg_pool1d, X1, 2)(np.ones((1, 2, 4), object)), T,
     m("avg_pool1d() backward", "real numeric array", "object")),
    ("pullback-bool", lambda: _pullback(F.max_pool1d, X1, 2)(np.ones((1, 2, 4), bool)), T,
     m("max_pool1d() backward", "real numeric array", "bool")),
    ("pullback-str", lambda: _pullback(F.max_pool1d, X1, 2)("grad"), T,
     m("max_pool1d() backward", "real numeric array")),
    # ---- channels_last, min/sum/generic pooling
    ("channels-last-not-bool", lambda: F.max_pool2d(X2, 2, channels_last=1), T,
     m("max_pool2d()", "channels_last must be a bool", "got 1")),
    ("channels-last-not-bool-adaptive",
     lambda: F.adaptive_avg_pool2d(X2, 2, channels_last="yes"), T,
     m("adaptive_avg_pool2d()", "channels_last must be a bool", "'yes'")),
    ("channels-last-rank", lambda: F.avg_pool2d(np.ones((2, 3)), 2, channels_last=True), V,
     m("avg_pool2d()", "input must have 3 dims", "got shape (2, 3)")),
    ("min-pool-kernel", lambda: poolnd.min_pool(X2, (0, 2)), V,
     m("min_pool()", "kernel_size must be positive", "(0, 2)")),
    ("sum-pool-grad-int", lambda: poolnd.vjp(poolnd.sum_pool, X2.astype(np.int16), (2, 2)), T,
     m("sum_pool()", "gradients need a floating input", "int16")),
    ("pool-reducer-name", lambda: poolnd.pool(X2, "median", (2, 2)), V,
     m("pool()", "reducer must be one of 'max', 'min', 'sum', 'mean'", "'median'")),
    ("pool-reducer-type", lambda: poolnd.pool(X2, np.max, (2, 2)), T,
     m("pool()", "reducer must be a str or a NumPy ufunc", "function")),
    ("pool-reducer-unary", lambda: poolnd.pool(X2, np.negative, (2, 2)), V,
     m("pool()", "two inputs and give one output", "negative", "nin=1")),
    ("pool-reducer-no-identity", lambda: poolnd.pool(X2, np.fmax, (2, 2)), V,
     m("pool()", "needs an identity", "np.fmax.identity is None")),
    ("pool-ufunc-vjp", lambda: poolnd.vjp(poolnd.pool, X2, np.multiply, (2, 2)), T,
     m("pool()", "gradients exist for the reducers", "np.multiply")),
    # ---- layers
    ("layer-backward-before-forward", lambda: poolnd.nn.MaxPool2d(2).backward(np.ones(1)), R,
     m("MaxPool2d", "backward() called before any forward call")),
    ("layer-backward-before-forward-avg", lambda: poolnd.nn.AvgPool1d(2).backward(np.ones(1)),
     R, m("AvgPool1d", "backward() called before any forward call")),
    ("layer-backward-after-int-forward", _backward_after_int_forward, R,
     m("MaxPool2d", "not floating point")),
    ("layer-invalid-kernel", lambda: poolnd.nn.MaxPool2d(0)(X2), V,
     m("max_pool2d()", "kernel_size must be positive")),
    ("layer-invalid-padding", lambda: poolnd.nn.AvgPool3d(2, padding=2)(X3), V,
     m("avg_pool3d()", "padding must be at most half")),
    ("layer-backward-wrong-shape", _layer_backward_wrong_shape, V,
     m("avg_pool2d() backward", "shape (1, 2, 3, 3)", "got shape (1, 2, 2, 2)")),
]


@pytest.mark.parametrize(("thunk", "exc", "match"),
                         [pytest.param(t, e, mm, id=i) for i, t, e, mm in CASES])
def test_invalid_argument_raises(thunk, exc, match):
    with pytest.raises(exc, match=match) as info:
        thunk()
    assert type(info.value) is exc  # exactly, not a subclass such as numpy's AxisError


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("op", ["max_pool1d", "max_pool2d", "max_pool3d",
                                "avg_pool1d", "avg_pool2d", "avg_pool3d"])
def test_every_functional_names_itself(op):
    nd = int(op[-2])
    x = np.ones((1, 1, *[4] * nd))
    with pytest.raises(ValueError, match=re.escape(f"{op}(): kernel_size must be positive")):
        getattr(F, op)(x, 0)
    with pytest.raises(TypeError, match=re.escape(f"{op}(): ceil_mode must be a bool")):
        getattr(F, op)(x, 2, ceil_mode="no")
