"""Public API surface: signatures identical to torch.nn.functional's, the N-d entry points,
and argument spellings torch accepts.
"""

from __future__ import annotations

import ast
import inspect
import itertools

import numpy as np
import pytest
import torch.nn.functional as tF
from helpers import MaxArgs, assert_identical, check_max, from_torch, to_torch

import poolnd

F = poolnd.functional
_EMPTY = inspect.Parameter.empty


def _params(fn):
    """torch's part of a signature: everything but poolnd's keyword-only extensions."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()
            if p.kind is not inspect.Parameter.KEYWORD_ONLY]


def _keywords(fn):
    return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY]


@pytest.mark.parametrize("name", F.__all__)
def test_every_functional_op_adds_only_keyword_channels_last(name):
    extra = [("rng", None)] if name.startswith("fractional") else []
    assert _keywords(getattr(F, name)) == [*extra, ("channels_last", False)]


def _docstring_params(doc: str):
    """(name, default) pairs from a torch docstring's first line: ``avg_pool2d(input, ...)``."""
    first = doc.strip().splitlines()[0]
    header = first.split("->")[0].strip()
    fn = ast.parse(f"def {header}: pass").body[0]
    names = [a.arg for a in fn.args.args]
    defaults = [ast.literal_eval(d) for d in fn.args.defaults]
    return list(zip(names, [_EMPTY] * (len(names) - len(defaults)) + defaults))


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_max_pool_signatures_match_torch(nd):
    ours = _params(getattr(F, f"max_pool{nd}d"))
    theirs = _params(getattr(tF, f"_max_pool{nd}d"))  # max_poolNd is a boolean_dispatch wrapper
    assert ours == theirs
    assert [n for n, *_ in ours] == ["input", "kernel_size", "stride", "padding", "dilation",
                                      "ceil_mode", "return_indices"]


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_avg_pool_signatures_match_torch(nd):
    ours = _params(getattr(F, f"avg_pool{nd}d"))
    theirs = _docstring_params(getattr(tF, f"avg_pool{nd}d").__doc__)
    assert [(n, d) for n, _, d in ours] == theirs
    assert all(k == inspect.Parameter.POSITIONAL_OR_KEYWORD for _, k, _ in ours)
    assert ("divisor_override" in dict(theirs)) == (nd != 1)


def test_nd_entry_point_signatures():
    pk, kw = inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY
    every = [(p.name, p.kind, p.default) for p in inspect.signature(poolnd.max_pool)
             .parameters.values()]
    assert every == [
        ("input", pk, _EMPTY), ("kernel_size", pk, _EMPTY), ("stride", pk, None),
        ("padding", pk, 0), ("dilation", pk, 1), ("ceil_mode", pk, False),
        ("return_indices", pk, False), ("ndim", kw, None), ("channels_last", kw, False),
    ]
    assert _params(poolnd.min_pool) == _params(poolnd.max_pool)
    assert _keywords(poolnd.min_pool) == _keywords(poolnd.max_pool)
    assert _params(poolnd.sum_pool) == _params(poolnd.max_pool)[:-1]
    assert _params(poolnd.avg_pool) == [
        ("input", pk, _EMPTY), ("kernel_size", pk, _EMPTY), ("stride", pk, None),
        ("padding", pk, 0), ("ceil_mode", pk, False), ("count_include_pad", pk, True),
        ("divisor_override", pk, None),
    ]
    assert _keywords(poolnd.avg_pool) == [("ndim", None), ("channels_last", False)]
    assert [n for n, *_ in _params(poolnd.pool)] == [
        "input", "reducer", "kernel_size", "stride", "padding", "dilation", "ceil_mode"]
    assert _keywords(poolnd.pool) == [
        ("count_include_pad", True), ("ndim", None), ("channels_last", False),
        ("pad_value", None)]
    names = [p.name for p in inspect.signature(poolnd.vjp).parameters.values()]
    assert names == ["fn", "x", "args", "kwargs"]


def test_public_names():
    for name in ("max_pool", "avg_pool", "vjp", "functional", "nn", "pooled_length"):
        assert hasattr(poolnd, name)
    assert set(F.__all__) >= {f"{op}_pool{nd}d" for op in ("max", "avg") for nd in (1, 2, 3)}


def test_argument_spellings_torch_accepts(rng):
    x = rng.standard_normal((2, 3, 7, 8)).astype(np.float32)
    spellings = [
        MaxArgs([3], [2], [1], [1]),  # 1-element lists broadcast
        MaxArgs((3, 2), (1, 2), (1, 1), (2, 1), True),
        MaxArgs([3, 2], None, 0, 1),
        MaxArgs(np.int64(3), np.int32(2), np.int8(1)),  # NumPy integers
    ]
    for args in spellings:
        assert check_max(x, 2, args, grad=True) == "torch", args
    # a 1-D integer array works as a tuple
    got = F.max_pool2d(x, np.array([3, 2]), np.array([1, 2]))
    assert_identical(got, from_torch(tF.max_pool2d(to_torch(x), (3, 2), (1, 2))))


def test_array_likes_are_accepted():
    nested = [[[1.0, 2.0, -1.0, 0.0, 2.0, 3.0, -2.0, 0.0]]]
    out = F.max_pool1d(nested, 2)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    np.testing.assert_array_equal(out, [[[2, 0, 3, 0]]])
    ints = F.max_pool1d([[1, 5, 3, 2]], 2)
    assert ints.dtype == np.asarray([1]).dtype
    np.testing.assert_array_equal(ints, [[5, 3]])


def test_stride_none_is_kernel_size(rng):
    x = rng.standard_normal((1, 2, 9, 9))
    for fn in (F.max_pool2d, F.avg_pool2d):
        assert_identical(fn(x, (3, 2), None), fn(x, (3, 2), (3, 2)))
    assert_identical(poolnd.max_pool(x, (3, 2)), F.max_pool2d(x, (3, 2)))


def test_nd_ops_pool_the_trailing_axes(rng):
    # a 4-d array with a 2-tuple kernel is (N, C, H, W): the leading axes are never pooled
    x = rng.standard_normal((3, 4, 6, 6))
    got = poolnd.max_pool(x, (2, 2))
    assert got.shape == (3, 4, 3, 3)
    expected = np.stack([F.max_pool2d(x[n], 2) for n in range(3)])  # unbatched, one by one
    assert_identical(got, expected)
    assert_identical(poolnd.avg_pool(x, (2, 2)),
                     np.stack([F.avg_pool2d(x[n], 2) for n in range(3)]))


def test_empty_stride_means_kernel_size(rng):
    # torch: stride=None reaches ATen as an empty list, and an explicit [] / () works the same
    for nd, op, empty in itertools.product((1, 2, 3), ("max", "avg"), ([], ())):
        x = rng.standard_normal((1, 2, *[6] * nd)).astype(np.float32)
        theirs = from_torch(getattr(tF, f"{op}_pool{nd}d")(to_torch(x), 3, empty))
        assert_identical(getattr(F, f"{op}_pool{nd}d")(x, 3, empty), theirs)
