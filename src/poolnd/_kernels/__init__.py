"""Compute kernels, kept apart from the API: they see canonical geometry only.

Three families, each a subpackage arranged the same way: its ``__init__`` is the selector
(the functions the ops call, which pick a form per call), ``numpy_passes`` the NumPy forms
(any rank and dtype), and ``numba_*`` the compiled forms, loaded by the selector on first use
so that ``import poolnd`` never loads Numba. Every form of a family gives the same bits.

* `sliding`: windows at ``o * stride - pad`` (max, average, min, sum, generic, LP pooling):
  row kernels (``numba_rows``), tile kernels for windows that tile the input
  (``numba_tiles``), LP of order 2 over tiles in one pass (``numba_squares``).
* `tables`: windows listed per output position (adaptive and fractional pooling).
* `unpool`: the scatter and gather of max unpooling.

`launch` runs a compiled `launch.Form` serially or in parallel chunks; `jit` holds the Numba
options every compiled module shares. Thread count and tuning constants: `poolnd._threads`.
"""
