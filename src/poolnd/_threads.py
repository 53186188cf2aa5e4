"""Thread count of the compiled kernels (Numba's threading layer)."""

from __future__ import annotations

import operator

__all__ = ["get_num_threads", "set_num_threads"]


def get_num_threads() -> int:
    """Number of threads the compiled kernels use.

    Defaults to the number of CPUs, or ``NUMBA_NUM_THREADS`` when that is set.

    Examples
    --------
    >>> import poolnd
    >>> poolnd.get_num_threads() >= 1
    True
    """
    import numba

    return int(numba.get_num_threads())


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the compiled kernels (1 <= n <= ``NUMBA_NUM_THREADS``).

    Results are bitwise identical for any thread count: each output is computed by one
    thread in a fixed order.

    Parameters
    ----------
    n : int
        Positive thread count, at most the ``NUMBA_NUM_THREADS`` the process started with.

    Examples
    --------
    >>> import poolnd
    >>> before = poolnd.get_num_threads()
    >>> poolnd.set_num_threads(1)
    >>> poolnd.get_num_threads()
    1
    >>> poolnd.set_num_threads(before)
    """
    import numba

    if isinstance(n, bool):
        raise TypeError(f"set_num_threads(): n must be an int; got {n!r}")
    try:
        count = operator.index(n)
    except TypeError:
        raise TypeError(f"set_num_threads(): n must be an int; got {n!r}") from None
    limit = numba.config.NUMBA_NUM_THREADS
    if not 1 <= count <= limit:
        raise ValueError(
            f"set_num_threads(): n must be between 1 and NUMBA_NUM_THREADS={limit}; got {count}"
        )
    numba.set_num_threads(count)
