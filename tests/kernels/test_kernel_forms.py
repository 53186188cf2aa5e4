"""Compiled kernels are handed to the launcher as `Form` objects: every form a Numba module
builds is a body over the work items ``(start, stop)``, compiled without ``parallel=True``
(the launcher runs its chunks on its own threads), and the selectors pick only such forms."""

from __future__ import annotations

import importlib
import inspect

import pytest

from poolnd._args import make_window
from poolnd._kernels.launch import Form
from poolnd._kernels.sliding import _row_kernel, _tile_kernel, _tiles

MODULES = ["poolnd._kernels.sliding.numba_rows", "poolnd._kernels.sliding.numba_tiles",
           "poolnd._kernels.sliding.numba_phases", "poolnd._kernels.sliding.numba_squares",
           "poolnd._kernels.sliding.numba_select",
           "poolnd._kernels.tables.numba_rows", "poolnd._kernels.unpool.numba_rows"]


def _forms(module):
    return {name: v for name, v in vars(module).items() if isinstance(v, Form)}


@pytest.mark.parametrize("name", MODULES)
def test_every_form_is_a_serial_body_over_start_and_stop(name):
    module = importlib.import_module(name)
    forms = _forms(module)
    assert forms, name
    for constant, form in forms.items():
        params = list(inspect.signature(form.body.py_func).parameters)
        assert params[-2:] == ["start", "stop"], constant
        assert form.name == constant.lower()
        assert form.body.py_func.__name__ == f"_{form.name}_chunk"
        assert form.body.targetoptions.get("nogil") is True, constant
        assert not form.body.targetoptions.get("parallel"), constant


def test_the_selectors_pick_forms_of_the_numba_modules():
    known = {form for name in MODULES[:3]
             for form in _forms(importlib.import_module(name)).values()}
    picked = set()
    for kernel, stride, width in [(3, 1, 40), (3, 2, 40), (3, 2, 600), (4, 3, 600), (4, 3, 40)]:
        win = make_window("max_pool", (9, width), (kernel, kernel), (stride, stride), (1, 1),
                          (1, 1), False)
        picked |= {_row_kernel("max", win), _row_kernel("sum", win),
                   _row_kernel("sum", win, floating=False)}
    for kernel in [(2, 2), (3, 3)]:
        win = make_window("max_pool", (12, 12), kernel, kernel, (0, 0), (1, 1), False)
        tiles_of = _tiles(win)
        assert tiles_of is not None
        for kind in ("max", "argmax", "sum"):
            picked.add(_tile_kernel(kind, tiles_of, win.out_shape[-1])[0])
    assert picked <= known
    # the max row kernel, the 3x3 and phase-plane sums, the general and 2-wide tile forms
    assert {form.name for form in picked} >= {
        "max_rows", "sum_rows_3x3", "sum_phases", "block_max", "block_max2", "block_argmax",
        "block_argmax2", "block_sum", "block_sum2"}


def test_a_read_only_input_shares_the_writable_inputs_compiled_kernel():
    import numpy as np

    import poolnd

    rows = importlib.import_module(MODULES[0])
    x = np.random.default_rng(5).standard_normal((2, 3, 17, 19))
    frozen = x.copy()
    frozen.flags.writeable = False
    before = set(rows.ARGMAX_ROWS.body.overloads)
    a = poolnd.functional.max_pool2d(x, 3, 2, 1, return_indices=True)
    b = poolnd.functional.max_pool2d(frozen, 3, 2, 1, return_indices=True)
    added = set(rows.ARGMAX_ROWS.body.overloads) - before
    assert len(added) <= 1  # one signature for both (none if an earlier test made it)
    assert not any(signature[0].mutable for signature in rows.ARGMAX_ROWS.body.overloads)
    assert all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def test_one_compiled_signature_per_dtype_whatever_the_rank_and_divisors():
    """Divisors reach the sum kernels read-only whatever their source (cached or padded),
    so a 1d, 2d and 3d average, ONNX's AveragePool and avg_pool with a divisor override
    share one compiled signature per dtype: a read-only array is another Numba type."""
    import numpy as np
    import onnx

    import poolnd
    from poolnd import functional as F
    from poolnd._kernels.launch import kernels

    x = np.random.default_rng(0).standard_normal((2, 3, 9, 10, 11)).astype(np.float32)
    F.avg_pool1d(x[:, :, 0, 0], 5, 2, 2)
    F.avg_pool2d(x[:, :, 0], 5, 2, 2, ceil_mode=True, count_include_pad=False)
    F.avg_pool3d(x, 5, 3, 1, divisor_override=7)
    node = onnx.helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[5, 5], strides=[2, 2])
    poolnd.onnx.run_node(node, [x[:, :, 0]])
    # the strided sums (column stride 3) likewise
    F.avg_pool1d(x[:, :, 0, 0], 3, 3, 1)
    F.avg_pool2d(x[:, :, 0], 4, 3, 2, ceil_mode=True, count_include_pad=False)
    F.avg_pool3d(x, 3, 3, 1, divisor_override=7)
    node = onnx.helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[4, 4], strides=[3, 3])
    poolnd.onnx.run_node(node, [x[:, :, 0]])
    for module, name in (("numba_phases", "SUM_PHASES"), ("numba_rows", "SUM_STRIDED")):
        body = getattr(kernels(f"poolnd._kernels.sliding.{module}"), name).body
        float32 = [s for s in body.signatures if str(s[0].dtype) == "float32"]
        assert len(float32) == 1, (name, float32)
