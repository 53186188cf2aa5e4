"""Thread count of the compiled kernels (Numba's threading layer).

Numba keeps its thread count per calling thread; poolnd's is one process-wide setting, which
`poolnd._kernels.launch` applies in whichever thread launches a kernel.
"""

from __future__ import annotations

import operator

__all__ = ["get_num_threads", "kernel_threads", "set_num_threads"]

_requested: int | None = None  # set_num_threads' count; None: Numba's default


def kernel_threads() -> int:
    """The thread count for a kernel launched from the calling thread, applied to Numba's
    (thread-local) setting there."""
    import numba

    current = int(numba.get_num_threads())
    if _requested is not None and current != _requested:
        numba.set_num_threads(_requested)
        return _requested
    return current


def get_num_threads() -> int:
    """Number of threads the compiled kernels use.

    Defaults to the number of CPUs, or ``NUMBA_NUM_THREADS`` when that is set.

    Examples
    --------
    >>> import poolnd
    >>> poolnd.get_num_threads() >= 1
    True
    """
    return kernel_threads()


def set_num_threads(n: int) -> None:
    """Use ``n`` threads in the compiled kernels (1 <= n <= ``NUMBA_NUM_THREADS``).

    The setting is process-wide: calls from every Python thread use it (Numba's own setting
    is per thread). Results are bitwise identical for any thread count: each output is
    computed by one thread in a fixed order.

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
    global _requested
    numba.set_num_threads(count)
    _requested = count
