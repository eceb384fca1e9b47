"""Processes dlvsml starts end when their parent ends, however it ends (SIGKILL included).

The mechanism is a pipe whose write end only the parent holds: when the parent dies, by any
means, the kernel closes it and the reader sees end-of-file. That works the same on Linux and
macOS. ``prctl(PR_SET_PDEATHSIG)`` is Linux-only (and fires when the parent *thread* ends); a
process group is only signalled if someone is still alive to signal it, and a SIGKILLed
driver is not; polling ``getppid()`` misses a parent that dies before the poll starts.

- Python children started by multiprocessing's spawn (pool workers, the queue manager) already
  get such a pipe, ``multiprocessing.parent_process().sentinel``: `die_with_parent` watches it
  in a thread and ends the child, and whatever the child started, when it reads EOF. The
  resource tracker then ends by itself (it exits when the last process that holds its pipe
  does). A child whose parent dies while it is still starting (spawn imports the parent's
  main module first) ends as soon as it gets to `start_child`.
- Other programs (the MLflow server and its uvicorn workers) start through `start_tied`: in a
  session of their own, so that Ctrl-C or a signal to the caller's group does not reach them
  half-way, watched by a small guard process that reads a pipe from the caller and ends the
  program's whole process group at EOF. `stop_tied` ends that group on purpose.
- Processes started by a library (a local Ray instance) are tied after the fact by
  `tie_descendants`: the same guard holds their PIDs (with start times, so a reused PID is left
  alone) and ends them at EOF.

Example::

    server = start_tied(["mlflow", "server", "--port", "5000"])
    ...
    stop_tied(server)  # or nothing: it ends when this process ends, even by SIGKILL
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.connection
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import psutil

_STOP_SECONDS = 5.0  # how long a process may take to end on SIGTERM before SIGKILL
_GUARDS: list[subprocess.Popen] = []


def start_child() -> None:
    """The initializer of dlvsml's spawned children (pool workers, the queue manager).

    They end with their parent (`die_with_parent`); this module is light, so the watch starts
    before a child imports the models.

    They ignore SIGINT: a terminal's Ctrl-C reaches the whole process group, and only the
    driver should react (it stops the workers and tells the user how to resume), with the
    manager still serving the queue until then.

    And they end without the interpreter's teardown: freeing every module (torch, sklearn,
    pandas, ...) took a worker 1.5-4 s on a loaded 2-core machine, and the manager about 0.8 s,
    paid at the end of every ``--workers N`` run. Registered now, `_exit_now` runs after the
    handlers registered later (torch's, for instance) and after multiprocessing's own clean-up,
    which a child runs before its interpreter exits; a worker exits only once it has sent every
    result, and the manager only when the driver shuts it down.
    """
    die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    atexit.register(_exit_now)


def _exit_now() -> None:
    """End this child process at once, output flushed, with the status 0 that one reaching
    interpreter exit has (neither the pool nor the manager's owner reads it)."""
    for stream in (sys.stdout, sys.stderr):
        with suppress(AttributeError, OSError, ValueError):  # None, replaced or closed
            stream.flush()
    os._exit(0)


def die_with_parent() -> None:
    """In a spawned multiprocessing child: end this process (and its children) when the parent
    process ends. Nothing happens in a process that multiprocessing did not spawn."""
    parent = multiprocessing.parent_process()
    if parent is None or parent.sentinel is None:
        return
    threading.Thread(
        target=_exit_after, args=(parent.sentinel,), name="dlvsml-die-with-parent", daemon=True
    ).start()


def _exit_after(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])  # returns when the parent has died
    end_processes(psutil.Process().children(recursive=True))
    os._exit(1)


def still_running(processes: Sequence[psutil.Process]) -> list[psutil.Process]:
    """The processes of ``processes`` that have not ended (zombies count as ended)."""
    alive = []
    for process in processes:
        with suppress(psutil.NoSuchProcess):
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
    return alive


def end_processes(processes: Sequence[psutil.Process], timeout: float = _STOP_SECONDS) -> None:
    """SIGTERM, then SIGKILL for those still alive after ``timeout`` seconds."""
    for process in processes:
        with suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=timeout)
    for process in alive:
        with suppress(psutil.Error):
            process.kill()


def start_tied(command: Sequence[str], **popen_kwargs: Any) -> subprocess.Popen:
    """Start ``command`` in a session of its own that ends when this process ends.

    Returns its `subprocess.Popen`; the guard watching it is kept on it as ``guard``."""
    process = subprocess.Popen(list(command), start_new_session=True, **popen_kwargs)
    process.guard = _start_guard(["group", str(process.pid)])  # type: ignore[attr-defined]
    return process


def tie_descendants() -> None:
    """Make the processes this one has started so far end when it ends, e.g. a local Ray
    instance: Ray ends its raylet with the driver, but its agents outlived a SIGKILLed one."""
    targets = []
    for process in psutil.Process().children(recursive=True):
        with suppress(psutil.Error):
            targets.append(f"{process.pid}:{process.create_time()}")
    if targets:
        _start_guard(["processes", *targets])


def stop_tied(process: subprocess.Popen, timeout: float = _STOP_SECONDS) -> None:
    """End a program started by `start_tied`, with every process of its group."""
    _end_group(process.pid, timeout)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=timeout)
    guard = getattr(process, "guard", None)
    if guard is not None and guard.stdin is not None:
        guard.stdin.close()  # the guard finds the group gone and exits
        with suppress(subprocess.TimeoutExpired):
            guard.wait(timeout=timeout)
        _GUARDS.remove(guard)


def _start_guard(arguments: list[str]) -> subprocess.Popen:
    guard = subprocess.Popen(
        [sys.executable, "-m", "dlvsml.lifetime", *arguments],
        stdin=subprocess.PIPE,  # never written: closed (EOF) when this process ends
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _GUARDS.append(guard)  # held until this process ends: a dropped pipe would mean "end them"
    return guard


def _end_group(group: int, timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL whatever of it is left after ``timeout``."""
    members = [p for p in psutil.process_iter() if _group_of(p) == group]
    _signal_group(group, signal.SIGTERM)
    _, alive = psutil.wait_procs(members, timeout=timeout)
    if alive:
        _signal_group(group, signal.SIGKILL)


def _group_of(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except OSError:
        return None


def _signal_group(group: int, signal_number: int) -> bool:
    """Send a signal to a process group; False if the group has no process left."""
    try:
        os.killpg(group, signal_number)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _guard(kind: str, targets: list[str]) -> None:
    """Wait for EOF on stdin (the parent ended or let go) or for the targets to end by
    themselves; then end whatever is left of them: a process ``group``, or ``processes``
    given as PID:START_TIME (a reused PID is another process, left alone)."""
    for signal_number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signal_number, signal.SIG_IGN)  # the parent's group may get them: EOF rules
    group = int(targets[0]) if kind == "group" else None
    processes = [] if group is not None else [p for p in map(_process, targets) if p]
    while True:
        readable, _, _ = select.select([sys.stdin], [], [], 1.0)
        if readable and not os.read(sys.stdin.fileno(), 1024):
            break
        if not (_signal_group(group, 0) if group is not None else _running(processes)):
            return
    if group is not None:
        _end_group(group, _STOP_SECONDS)
    else:
        end_processes(_running(processes))


def _running(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [process for process in processes if process.is_running()]


def _process(target: str) -> psutil.Process | None:
    pid, started = target.split(":")
    try:
        process = psutil.Process(int(pid))
        return process if abs(process.create_time() - float(started)) < 1.0 else None
    except psutil.Error:
        return None


if __name__ == "__main__":
    _guard(sys.argv[1], sys.argv[2:])
