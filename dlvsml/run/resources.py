"""Process resources: thread limits for parallel cells, and peak memory of a cell.

Cells running in N processes each get ``cores // N`` threads, set through the environment (read by
OpenMP, BLAS and torch when they load) and at run time (threadpoolctl, ``torch.set_num_threads``),
so N workers never oversubscribe the machine.
"""

from __future__ import annotations

import contextlib
import os
import resource
import sys
from collections.abc import Iterator
from pathlib import Path

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def threads_per_worker(workers: int) -> int:
    """Cores shared out between worker processes (at least one each)."""
    return max(1, usable_cores() // max(1, workers))


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity, which containers narrow)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def thread_environment(n_threads: int) -> dict[str, str]:
    """Environment variables that cap native thread pools of a process started with them."""
    return dict.fromkeys(THREAD_VARIABLES, str(n_threads))


def limit_threads(n_threads: int) -> None:
    """Cap the thread pools of this process (BLAS/OpenMP now, torch if loaded)."""
    os.environ.update(thread_environment(n_threads))
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n_threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n_threads)


@contextlib.contextmanager
def memory_limit(megabytes: float | None) -> Iterator[None]:
    """Let this process grow its address space by at most ``megabytes`` while the block runs.

    A soft ``RLIMIT_AS`` (Linux) set to the current virtual size plus ``megabytes``: past it,
    allocations fail with MemoryError in the cell instead of the machine swapping or the kernel
    killing the suite. Virtual size counts reserved but untouched memory (thread stacks,
    allocator arenas), so give a generous limit; restored afterwards. None: no limit.
    """
    current = _status_mb("VmSize:") if megabytes else None
    if current is None or not hasattr(resource, "RLIMIT_AS"):
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = int((current + megabytes) * 1024 * 1024)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def reset_peak_memory() -> float:
    """Start a new high-water mark of resident memory (Linux); return the resident MB now."""
    with contextlib.suppress(OSError):
        _CLEAR_REFS.write_text("5")
    return _status_mb("VmRSS:") or 0.0


def peak_memory_mb() -> float:
    """Peak resident memory since `reset_peak_memory` (Linux), else since the process started."""
    found = _status_mb("VmHWM:")
    if found is not None:
        return found
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _status_mb(field: str) -> float | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
