"""Compiled kernels are handed to the launcher as `Form` objects: every form a Numba module
builds pairs a serial body over ``(start, stop)`` with its parallel wrapper over
``n_chunks``, and the selectors pick only such forms."""

from __future__ import annotations

import importlib
import inspect

import pytest

from poolnd._args import make_window
from poolnd._kernels.launch import Form
from poolnd._kernels.sliding import _row_kernel, _tile_kernel, _tiles

MODULES = ["poolnd._kernels.sliding.numba_rows", "poolnd._kernels.sliding.numba_tiles",
           "poolnd._kernels.sliding.numba_squares", "poolnd._kernels.tables.numba_rows"]


def _forms(module):
    return {name: v for name, v in vars(module).items() if isinstance(v, Form)}


@pytest.mark.parametrize("name", MODULES)
def test_every_form_pairs_a_body_with_its_parallel_wrapper(name):
    module = importlib.import_module(name)
    forms = _forms(module)
    assert forms, name
    for constant, form in forms.items():
        serial = list(inspect.signature(form.serial.py_func).parameters)
        parallel = list(inspect.signature(form.parallel.py_func).parameters)
        assert serial[-2:] == ["start", "stop"], constant
        assert parallel[-1] == "n_chunks", constant
        assert serial[:-2] == parallel[:-1], constant  # the same operands
        assert form.name == form.parallel.py_func.__name__ == constant.lower()
        assert form.serial.py_func.__name__ == f"_{form.name}_chunk"


def test_the_selectors_pick_forms_of_the_numba_modules():
    rows = importlib.import_module(MODULES[0])
    tiles = importlib.import_module(MODULES[1])
    known = set(_forms(rows).values()) | set(_forms(tiles).values())
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
    assert len(picked) >= 12  # every row form and the general and 2-wide tile forms
