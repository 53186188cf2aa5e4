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

# private: the kernel entry points, which the kernels_forbidden fixture replaces
import poolnd._kernels.sliding as K
from poolnd._kernels import tables, unpool

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
    ("pool-reducer-type", lambda: poolnd.pool(X2, 3, (2, 2)), T,
     m("pool()", "reducer must be a str or a NumPy ufunc", "int")),
    ("pool-reducer-unary", lambda: poolnd.pool(X2, np.negative, (2, 2)), V,
     m("pool()", "two inputs and give one output", "negative", "nin=1")),
    ("pool-reducer-no-identity", lambda: poolnd.pool(X2, np.arctan2, (2, 2)), V,
     m("pool()", "needs an identity", "np.arctan2.identity is None")),
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


# --------------------------------------------------------------------------------------------
# Every op family: min/sum/generic pooling, LP, adaptive, fractional, unpooling (bad indices),
# global pooling, channels_last, padding pairs and modes, layer and vjp misuse, and geometry
# that would overflow the kernels' int64 window arithmetic.

XCL = np.ones((1, 6, 6, 2), dtype=np.float32)  # (N, H, W, C)
XU = np.ones((1, 2, 2, 2), dtype=np.float32)  # max_unpool2d input (default output 4x4)
IU = np.zeros((1, 2, 2, 2), dtype=np.int64)
S2 = np.full((1, 2, 2), 0.5, dtype=np.float32)  # fractional samples for X2
BIG = 2**62


def _unpool_layer_bad_index():
    poolnd.nn.MaxUnpool2d(2)(XU, np.full((1, 2, 2, 2), 99))


def _adaptive_layer_backward_first():
    poolnd.nn.AdaptiveMaxPool1d(2).backward(np.ones((1, 2, 2)))


def _layer_backward_string():
    layer = poolnd.nn.MaxPool1d(2)
    layer(X1)
    layer.backward(np.array(["a"] * 8).reshape(1, 2, 4))


FAMILY_CASES = [
    # ---- geometry the int64 window arithmetic cannot hold (refused before any kernel)
    ("overflow-dilation", lambda: F.max_pool1d(X1, 2, 1, 0, BIG), V,
     m("max_pool1d(): dilation must be at most 2**60", "int64", "got (4611686018427387904,)")),
    ("overflow-kernel", lambda: F.avg_pool2d(X2, (2, 2**61)), V,
     m("avg_pool2d(): kernel_size must be at most 2**60", "(2, 2305843009213693952)")),
    ("overflow-stride", lambda: F.max_pool2d(X2, 2, (1, 2**63)), V,
     m("max_pool2d(): stride must be at most 2**60", "(1, 9223372036854775808)")),
    ("overflow-dilated-span", lambda: F.max_pool1d(X1, 2**31, 1, ((0, 0),), 2**31), V,
     m("max_pool1d(): the dilated kernel (kernel_size - 1) * dilation + 1 must be at most 2**60",
       "kernel_size=(2147483648,) and dilation=(2147483648,)")),
    ("overflow-kernel-volume", lambda: F.max_pool3d(X3, 2**21), V,
     m("max_pool3d(): the kernel volume (the product of kernel_size) must be at most 2**60",
       "kernel_size=(2097152, 2097152, 2097152)")),
    ("overflow-padding-pairs", lambda: F.max_pool1d(X1, 2, 1, ((BIG, 0),)), V,
     m("max_pool1d(): padding must be at most 2**60", "on each side",
       "((4611686018427387904, 0),)")),
    ("overflow-output-cells", lambda: F.max_pool2d(X2, 1, 1, ((2**59, 2**59),) * 2), V,
     m("max_pool2d(): the output must have at most 2**60 cells per plane", "int64",
       "gives output size (1152921504606846982, 1152921504606846982)")),
    ("overflow-divisor", lambda: F.avg_pool2d(X2, 2, divisor_override=-(2**63)), V,
     m("avg_pool2d(): divisor_override must fit in int64", "got -9223372036854775808")),
    ("overflow-adaptive-size", lambda: F.adaptive_avg_pool2d(X2, (2, 2**60)), V,
     m("adaptive_avg_pool2d(): output_size times the input size must be at most 2**60",
       "(2, 1152921504606846976)", "input size (6, 6)")),
    ("overflow-unpool-stride", lambda: F.max_unpool1d(np.ones((1, 2)), np.zeros((1, 2), np.int64),
                                                      2, 2**61), V,
     m("max_unpool1d(): the output must have at most 2**60 cells per plane",
       "stride=(2305843009213693952,)", "gives output size (2305843009213693954,)")),
    ("overflow-lp-kernel", lambda: F.lp_pool1d(X1, 2, BIG), V,
     m("lp_pool1d(): kernel_size must be at most 2**60", "(4611686018427387904,)")),
    ("overflow-min-pool-dilation", lambda: poolnd.min_pool(X2, (2, 2), dilation=(1, 2**61)), V,
     m("min_pool(): dilation must be at most 2**60", "(1, 2305843009213693952)")),
    ("overflow-same-padding-dilation", lambda: poolnd.sum_pool(X1, (2,), 1, "same", 2**61), V,
     m("sum_pool(): dilation must be at most 2**60")),
    # ---- min, sum and generic pooling
    ("min-pool-padding-too-large", lambda: poolnd.min_pool(X2, (2, 2), padding=2), V,
     m("min_pool(): padding must be at most half the dilated kernel", "padding=(2, 2)")),
    ("sum-pool-stride-zero", lambda: poolnd.sum_pool(X2, (2, 2), 0), V,
     m("sum_pool(): stride must be positive", "(0, 0)")),
    ("sum-pool-int-kernel-without-ndim", lambda: poolnd.sum_pool(X2, 2), T,
     m("sum_pool(): an int kernel_size needs ndim=", "kernel_size=2")),
    ("pool-reducer-none", lambda: poolnd.pool(X2, None, (2, 2)), T,
     m("pool(): reducer must be a str or a NumPy ufunc", "None", "NoneType")),
    ("pool-reducer-upper-case", lambda: poolnd.pool(X2, "MAX", (2, 2)), V,
     m("pool(): reducer must be one of 'max', 'min', 'sum', 'mean'", "'MAX'")),
    ("pool-reducer-two-outputs", lambda: poolnd.pool(X2, np.divmod, (2, 2)), V,
     m("pool(): a ufunc reducer must take two inputs and give one output", "divmod",
       "nout=2")),
    ("pool-count-include-pad-int", lambda: poolnd.pool(X2, "mean", (2, 2), count_include_pad=1),
     T, m("pool(): count_include_pad must be a bool", "got 1 of type int")),
    ("min-pool-vjp-uint8", lambda: poolnd.vjp(poolnd.min_pool, X2.astype(np.uint8), (2, 2)), T,
     m("min_pool(): gradients need a floating input", "uint8")),
    ("pool-ufunc-no-loop-for-dtype", lambda: poolnd.pool(X2, np.bitwise_xor, (2, 2)), T,
     m("pool(): the ufunc reducer np.bitwise_xor has no loop for input dtype float32")),
    ("pool-input-complex", lambda: poolnd.pool(X2.astype(complex), "sum", (2, 2)), T,
     m("pool(): input dtype must be float16, float32, float64 or an integer type",
       "complex128")),
    # ---- channels_last
    ("channels-last-rank-3d", lambda: F.max_pool3d(np.ones((2, 4, 4)), 2, channels_last=True), V,
     m("max_pool3d(): input must have 4 dims", "got shape (2, 4, 4)")),
    ("channels-last-zero-channels",
     lambda: F.max_pool2d(np.ones((1, 4, 4, 0)), 2, channels_last=True), V,
     m("max_pool2d(): input channel and spatial sizes must be positive", "(1, 4, 4, 0)")),
    ("channels-last-none", lambda: poolnd.sum_pool(X2, (2, 2), channels_last=None), T,
     m("sum_pool(): channels_last must be a bool", "None")),
    ("channels-last-unpool-indices-shape",
     lambda: F.max_unpool2d(np.ones((1, 2, 2, 3)), IU, 2, channels_last=True), V,
     m("max_unpool2d(): indices must have the input's shape (1, 2, 2, 3)",
       "got shape (1, 2, 2, 2)")),
    ("channels-last-unpool-index-range",
     lambda: F.max_unpool2d(np.ones((1, 2, 2, 3)), np.full((1, 2, 2, 3), 16), 2,
                            channels_last=True), V,
     m("max_unpool2d(): indices must be flat positions in [0, 16)", "got index 16")),
    ("channels-last-layer-flag", lambda: poolnd.nn.MaxPool2d(2, channels_last="yes")(X2), T,
     m("max_pool2d(): channels_last must be a bool", "'yes'")),
    ("channels-last-global-lp", lambda: poolnd.global_lp_pool(X2, 2, channels_last=1), T,
     m("global_lp_pool(): channels_last must be a bool", "got 1")),
    ("channels-last-pullback-shape",
     lambda: _pullback(F.max_pool2d, XCL, 2, channels_last=True)(np.ones((1, 2, 3, 3))), V,
     m("max_pool2d() backward", "grad_output must have the output's shape (1, 3, 3, 2)",
       "got shape (1, 2, 3, 3)")),
    # ---- padding pairs and modes
    ("padding-mode-onnx-spelling", lambda: F.avg_pool2d(X2, 2, padding="SAME_UPPER"), V,
     m("avg_pool2d(): padding must be an int, a tuple, or one of", "got 'SAME_UPPER'")),
    ("padding-empty-string", lambda: F.max_pool1d(X1, 2, padding=""), V,
     m("max_pool1d(): padding must be", "'valid', 'same', 'same_lower'", "got ''")),
    ("padding-pairs-bool", lambda: F.max_pool1d(X1, 2, padding=((True, 0),)), T,
     m("max_pool1d(): padding must contain ints, not bools", "((True, 0),)")),
    ("padding-pairs-array-rows", lambda: F.max_pool2d(X2, 2, padding=np.zeros((3, 2), int)), V,
     m("max_pool2d(): padding must hold 2 (lo, hi) pair(s) for 2 spatial dimension(s)",
       "with 3")),
    ("padding-none", lambda: F.max_pool2d(X2, 2, padding=None), T,
     m("max_pool2d(): padding must be an int or a tuple of ints", "None")),
    ("padding-valid-no-window", lambda: F.avg_pool2d(X2, 7, padding="valid"), V,
     m("avg_pool2d(): output size must be at least 1", "padding=((0, 0), (0, 0))",
       "gives output size (0, 0)")),
    # ---- LP pooling
    ("lp-stride-float", lambda: F.lp_pool2d(X2, 2, 2, 1.5), T,
     m("lp_pool2d(): stride must be an int or a tuple of ints", "1.5")),
    ("lp-kernel-empty", lambda: F.lp_pool2d(X2, 2, ()), V,
     m("lp_pool2d(): kernel_size must be a single int or a tuple of 2 ints", "() of length 0")),
    ("lp-rank", lambda: F.lp_pool3d(X2[0, 0], 2, 2), V,
     m("lp_pool3d(): input must have 4 dims (C, *spatial) or 5 dims", "got shape (6, 6)")),
    ("lp-norm-list", lambda: F.lp_pool1d(X1, [2], 2), T,
     m("lp_pool1d(): norm_type must be a real number", "[2]", "list")),
    ("lp-unsigned-negative-norm", lambda: F.lp_pool1d(X1.astype(np.uint16), -2, 2), V,
     m("lp_pool1d(): an integer input needs a positive norm_type", "norm_type=-2", "uint16")),
    ("lp-norm-zero-int", lambda: F.lp_pool3d(X3, 0, 2), V,
     m("lp_pool3d(): norm_type must be non-zero", "got 0")),
    # ---- adaptive pooling
    ("adaptive-size-float-in-tuple", lambda: F.adaptive_max_pool2d(X2, (2, 2.5)), T,
     m("adaptive_max_pool2d(): output_size must be an int or a tuple of ints", "(2, 2.5)")),
    ("adaptive-size-negative-3d", lambda: F.adaptive_avg_pool3d(X3, (1, -2, 1)), V,
     m("adaptive_avg_pool3d(): output_size must be non-negative", "(1, -2, 1)")),
    ("adaptive-size-string", lambda: F.adaptive_max_pool1d(X1, "2"), T,
     m("adaptive_max_pool1d(): output_size must be an int or a tuple of ints", "'2'")),
    ("adaptive-avg-uint8", lambda: F.adaptive_avg_pool1d(X1.astype(np.uint8), 2), T,
     m("adaptive_avg_pool1d(): input dtype must be float16, float32, float64 or bfloat16",
       "uint8")),
    ("adaptive-channels-last-rank",
     lambda: F.adaptive_max_pool2d(np.ones((4, 4)), 2, channels_last=True), V,
     m("adaptive_max_pool2d(): input must have 3 dims", "got shape (4, 4)")),
    # ---- fractional max pooling
    ("fractional-kernel-zero-3d",
     lambda: F.fractional_max_pool3d(np.ones((1, 1, 6, 6, 6), np.float32), (1, 0, 1), 2), V,
     m("fractional_max_pool3d(): kernel_size must be positive", "(1, 0, 1)")),
    ("fractional-samples-int",
     lambda: F.fractional_max_pool2d(X2, 2, 3, _random_samples=S2.astype(np.int32)), T,
     m("fractional_max_pool2d(): _random_samples must have the input's dtype float32",
       "int32")),
    ("fractional-kernel-as-large-as-input", lambda: F.fractional_max_pool2d(X2, 6, 2), V,
     m("fractional_max_pool2d(): output size + kernel_size - 1 must be at most the input size",
       "pool height 6 too large relative to input height 6")),
    ("fractional-rng-int", lambda: F.fractional_max_pool2d(X2, 2, 3, rng=0), T,
     m("fractional_max_pool2d(): rng must be a numpy.random.Generator or None", "got int")),
    ("fractional-ratio-bool", lambda: F.fractional_max_pool2d(X2, 2, output_ratio=True), T,
     m("fractional_max_pool2d(): output_ratio must contain real numbers", "True")),
    ("fractional-ratio-inf",
     lambda: F.fractional_max_pool2d(X2, 2, output_ratio=(0.5, float("inf"))), V,
     m("fractional_max_pool2d(): output_ratio must be finite", "inf")),
    # ---- max unpooling: bad indices, output sizes
    ("unpool-index-one-past", lambda: F.max_unpool1d(np.ones((1, 2)), np.array([[0, 4]]), 2), V,
     m("max_unpool1d(): indices must be flat positions in [0, 4)", "got index 4",
       "at position (0, 1)")),
    ("unpool-index-int64-min",
     lambda: F.max_unpool2d(XU, np.full((1, 2, 2, 2), np.iinfo(np.int64).min), 2), V,
     m("max_unpool2d(): indices must be flat positions in [0, 16)",
       "got index -9223372036854775808 at position (0, 0, 0, 0)")),
    ("unpool-index-huge", lambda: F.max_unpool3d(np.ones((1, 1, 1, 1)),
                                                 np.full((1, 1, 1, 1), BIG), 2), V,
     m("max_unpool3d(): indices must be flat positions in [0, 8)",
       "got index 4611686018427387904")),
    ("unpool-indices-object", lambda: F.max_unpool2d(XU, IU.astype(object), 2), T,
     m("max_unpool2d(): indices must be an int64 array", "got dtype object")),
    ("unpool-indices-bool", lambda: F.max_unpool2d(XU, IU.astype(bool), 2), T,
     m("max_unpool2d(): indices must be an int64 array", "got dtype bool")),
    ("unpool-indices-none", lambda: F.max_unpool2d(XU, None, 2), T,
     m("max_unpool2d(): indices must be an int64 array", "got dtype object")),
    ("unpool-output-size-str", lambda: F.max_unpool2d(XU, IU, 2, output_size="44"), T,
     m("max_unpool2d(): output_size must be None or a sequence of ints", "'44'", "str")),
    ("unpool-output-size-negative", lambda: F.max_unpool2d(XU, IU, 2, output_size=(-1, 4)), V,
     m("max_unpool2d(): output_size must lie strictly between default - stride and default "
       "+ stride", "dimension 0 must be between 2 and 6 (exclusive)")),
    ("unpool-padding-too-large", lambda: F.max_unpool2d(XU, IU, 2, padding=3), V,
     m("max_unpool2d(): output size must be non-negative", "gives output size (-2, -2)")),
    # ---- global pooling
    ("global-ndim-too-large", lambda: poolnd.global_max_pool(X2, ndim=4), V,
     m("global_max_pool(): input must have 5 dims (C, *spatial) or 6 dims",
       "got shape (1, 2, 6, 6)")),
    ("global-bool-input", lambda: poolnd.global_avg_pool(X2.astype(bool)), T,
     m("global_avg_pool(): input dtype must be float16, float32, float64 or an integer type",
       "bool")),
    ("global-lp-negative-inf", lambda: poolnd.global_lp_pool(X2, float("-inf")), V,
     m("global_lp_pool(): norm_type must be positive (or inf)", "-inf")),
    ("global-keepdims-none", lambda: poolnd.global_avg_pool(X2, keepdims=None), T,
     m("global_avg_pool(): keepdims must be a bool", "None")),
    ("global-scalar-input", lambda: poolnd.global_max_pool(np.float32(1)), V,
     m("global_max_pool(): input must have at least 3 dims", "got 0 dims")),
    ("global-lp-complex-norm", lambda: poolnd.global_lp_pool(X2, 2 + 0j), T,
     m("global_lp_pool(): norm_type must be a real number", "(2+0j)", "complex")),
    # ---- layer misuse
    ("layer-lp-norm-zero", lambda: poolnd.nn.LPPool2d(0, 2)(X2), V,
     m("lp_pool2d(): norm_type must be non-zero", "got 0")),
    ("layer-adaptive-negative-size", lambda: poolnd.nn.AdaptiveAvgPool2d(-1)(X2), V,
     m("adaptive_avg_pool2d(): output_size must be non-negative", "-1")),
    ("layer-unpool-bad-index", _unpool_layer_bad_index, V,
     m("max_unpool2d(): indices must be flat positions in [0, 16)", "got index 99")),
    ("layer-adaptive-backward-first", _adaptive_layer_backward_first, R,
     m("AdaptiveMaxPool1d.backward() called before any forward call")),
    ("layer-backward-string-grad", _layer_backward_string, T,
     m("max_pool1d() backward: grad_output must be a real numeric array", "<U1")),
    ("layer-forward-string", lambda: poolnd.nn.AvgPool2d(2)("img"), T,
     m("avg_pool2d(): input must be a real numeric array", "str")),
    ("layer-fractional-dilated-input-rank", lambda: poolnd.nn.FractionalMaxPool2d(
        2, output_size=2)(np.ones((6, 6), np.float32)), V,
     m("fractional_max_pool2d(): input must have 3 dims", "got shape (6, 6)")),
    # ---- vjp misuse
    ("vjp-none", lambda: poolnd.vjp(None, X2), T,
     m("vjp(): fn must be a differentiable poolnd op", "got None")),
    ("vjp-layer-class", lambda: poolnd.vjp(poolnd.nn.MaxPool2d, X2, 2), T,
     m("vjp(): fn must be a differentiable poolnd op", "MaxPool2d")),
    ("vjp-pool-ufunc-add", lambda: poolnd.vjp(poolnd.pool, X2, np.add, (2, 2)), T,
     m("pool(): gradients exist for the reducers", "got the ufunc np.add")),
    ("vjp-global-lp-int", lambda: poolnd.vjp(poolnd.global_lp_pool, X2.astype(np.int16)), T,
     m("global_lp_pool(): input dtype must be float16, float32 or float64", "int16")),
    ("vjp-fractional-int",
     lambda: poolnd.vjp(F.fractional_max_pool2d, X2.astype(np.int64), 2, 3), T,
     m("fractional_max_pool2d(): input dtype must be float16, float32, float64 or bfloat16",
       "int64")),
    ("vjp-set-num-threads", lambda: poolnd.vjp(poolnd.set_num_threads, X2), T,
     m("vjp(): fn must be a differentiable poolnd op", "set_num_threads")),
    ("pullback-adaptive-shape",
     lambda: _pullback(F.adaptive_max_pool2d, X2, 3)(np.ones((1, 2, 2, 2))), V,
     m("adaptive_max_pool2d() backward", "grad_output must have the output's shape (1, 2, 3, 3)",
       "got shape (1, 2, 2, 2)")),
    ("pullback-unpool-complex",
     lambda: _pullback(F.max_unpool2d, XU, IU, 2)(np.ones((1, 2, 4, 4), complex)), T,
     m("max_unpool2d() backward", "grad_output must be a real numeric array", "complex128")),
    ("pullback-fractional-shape",
     lambda: _pullback(F.fractional_max_pool2d, X2, 2, 3, _random_samples=S2)(np.ones(3)), V,
     m("fractional_max_pool2d() backward", "output's shape (1, 2, 3, 3)", "got shape (3,)")),
    ("pullback-min-pool-shape", lambda: _pullback(poolnd.min_pool, X2, (2, 2))(np.ones(9)), V,
     m("min_pool() backward", "output's shape (1, 2, 3, 3)", "got shape (9,)")),
    ("pullback-sum-pool-str", lambda: _pullback(poolnd.sum_pool, X2, (2, 2))("g"), T,
     m("sum_pool() backward", "grad_output must be a real numeric array", "<U1")),
    ("pullback-global-lp-shape", lambda: _pullback(poolnd.global_lp_pool, X2)(np.ones((2, 1))),
     V, m("global_lp_pool() backward", "output's shape (1, 2)", "got shape (2, 1)")),
    ("pullback-lp-object", lambda: _pullback(F.lp_pool2d, X2, 2, 2)(np.ones((1, 2, 3, 3), object)),
     T, m("lp_pool2d() backward", "grad_output must be a real numeric array", "object")),
    # ---- dtypes and array kinds
    ("input-longdouble", lambda: F.max_pool1d(X1.astype(np.longdouble), 2), T,
     m("max_pool1d(): input dtype must be float16, float32, float64 or an integer type",
       str(np.dtype(np.longdouble)))),
    ("input-structured", lambda: F.avg_pool1d(np.zeros((1, 1, 4), [("a", "f4")]), 2), T,
     m("avg_pool1d(): input dtype must be float16, float32, float64 or an integer type")),
    ("input-timedelta", lambda: poolnd.sum_pool(np.zeros((1, 1, 4), "m8[s]"), (2,)), T,
     m("sum_pool(): input dtype", "timedelta64")),
    ("input-complex-global", lambda: poolnd.global_max_pool(np.ones((1, 1, 2), complex)), T,
     m("global_max_pool(): input dtype", "complex128")),
    ("adaptive-max-3d-return-indices", lambda: F.adaptive_max_pool3d(X3, 2, "no"), T,
     m("adaptive_max_pool3d(): return_indices must be a bool", "'no'")),
    ("input-bool-unpool-values", lambda: F.max_unpool1d(np.ones((1, 2), bool),
                                                        np.zeros((1, 2), np.int64), 2), T,
     m("max_unpool1d(): input dtype", "bool")),
    # ---- blur pooling (antialiased-cnns' arguments)
    ("blur-pad-type", lambda: F.blur_pool1d(X1, "wrap"), V,
     m("blur_pool1d(): pad_type must be one of", "'reflect'", "got 'wrap'")),
    ("blur-filt-size-range", lambda: F.blur_pool2d(X2, "zero", 8), V,
     m("blur_pool2d(): filt_size must be between 1 and 7", "got (8, 8)")),
    ("blur-stride-float", lambda: F.blur_pool1d(X1, "reflect", 3, 1.5), T,
     m("blur_pool1d(): stride must be an int or a tuple of ints", "1.5")),
    ("blur-int-input", lambda: F.blur_pool2d(X2.astype(np.int32)), T,
     m("blur_pool2d(): input dtype must be float16, float32 or float64", "int32")),
    ("blur-pad-off-negative", lambda: F.blur_pool2d(X2, "zero", 4, 2, -1), V,
     m("blur_pool2d(): pad_off must be non-negative", "(-1, -1)")),
    ("blur-reflect-too-small", lambda: F.blur_pool2d(np.ones((1, 1, 1, 1), np.float32)), V,
     m("blur_pool2d(): pad_type='reflect' needs the padding of each side smaller than the "
       "input size", "size 1")),
    ("max-blur-kernel-zero", lambda: F.max_blur_pool1d(X1, kernel_size=0), V,
     m("max_blur_pool1d(): kernel_size must be positive", "(0,)")),
    ("max-blur-kernel-too-big", lambda: F.max_blur_pool2d(X2, "zero", kernel_size=9), V,
     m("max_blur_pool2d(): output size must be at least 1", "kernel_size=(9, 9)")),
    ("max-blur-not-an-array", lambda: F.max_blur_pool2d("abc"), T,
     m("max_blur_pool2d(): input must be a real numeric array", "str")),
]

CASES += FAMILY_CASES


@pytest.mark.parametrize(("thunk", "exc", "match"),
                         [pytest.param(t, e, mm, id=i) for i, t, e, mm in CASES])
def test_invalid_argument_raises(thunk, exc, match):
    with pytest.raises(exc, match=match) as info:
        thunk()
    assert type(info.value) is exc  # exactly, not a subclass such as numpy's AxisError


def test_case_ids_are_unique():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


PUBLIC_OPS = [*F.__all__, "max_pool", "avg_pool", "min_pool", "sum_pool", "pool",
              "global_max_pool", "global_avg_pool", "global_lp_pool", "vjp"]


def test_catalogue_covers_every_public_op():
    assert len(FAMILY_CASES) >= 60
    for op in PUBLIC_OPS:
        named = [i for i, _, _, pattern in CASES if pattern.startswith(re.escape(f"{op}()"))]
        assert named, f"no catalogue case names {op}() first in its message"


# Cases whose thunk runs a valid forward pass before the bad call (a pullback or a layer's
# backward): kernels legitimately ran for the forward.
AFTER_FORWARD = {
    i for i, _, _, _ in CASES if "pullback" in i or ("backward" in i and "first" not in i)
}


@pytest.fixture
def kernels_forbidden(monkeypatch):
    """Every kernel entry point (compiled or NumPy) raises if it is reached."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a kernel was called with a bad argument")

    for module, names in (
        (K, ["max_forward", "min_forward", "sum_forward", "ufunc_forward", "max_backward",
             "sum_backward", "launch"]),
        (tables, ["max_forward", "avg_forward", "max_backward", "avg_backward", "mean_forward",
                  "mean_backward", "launch"]),
        (unpool, ["scatter", "gather"]),
    ):
        for name in names:
            monkeypatch.setattr(module, name, forbidden)


@pytest.mark.parametrize(("thunk", "exc", "match"), [
    pytest.param(t, e, mm, id=i) for i, t, e, mm in CASES if i not in AFTER_FORWARD
])
def test_no_bad_input_reaches_a_kernel(thunk, exc, match, kernels_forbidden):
    with pytest.raises(exc, match=match):
        thunk()


def test_the_kernel_guard_catches_kernel_calls(kernels_forbidden):
    with pytest.raises(AssertionError, match="a kernel was called"):
        F.max_pool2d(X2, 2)
    with pytest.raises(AssertionError, match="a kernel was called"):
        F.adaptive_avg_pool2d(X2, 2)
    with pytest.raises(AssertionError, match="a kernel was called"):
        F.max_unpool2d(XU, IU, 2)


@pytest.mark.parametrize("op", ["max_pool1d", "max_pool2d", "max_pool3d",
                                "avg_pool1d", "avg_pool2d", "avg_pool3d"])
def test_every_functional_names_itself(op):
    nd = int(op[-2])
    x = np.ones((1, 1, *[4] * nd))
    with pytest.raises(ValueError, match=re.escape(f"{op}(): kernel_size must be positive")):
        getattr(F, op)(x, 0)
    with pytest.raises(TypeError, match=re.escape(f"{op}(): ceil_mode must be a bool")):
        getattr(F, op)(x, 2, ceil_mode="no")
