"""A throw-away PostgreSQL server for tests: initdb in a temporary folder, loopback only.

Debian's binaries live in /usr/lib/postgresql/<version>/bin; initdb refuses to run as root, so
as root the server runs as the ``postgres`` user (in a folder it owns).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bin() -> Path | None:
    """The newest PostgreSQL server binaries installed, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=_version)
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server(bin_dir: Path, database: str = "dlvsml") -> Iterator[str]:
    """Start a server on a free loopback port; yield a ``postgresql+psycopg://`` URL."""
    folder = Path(tempfile.mkdtemp(prefix="dlvsml-pg-"))
    as_owner: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
        as_owner = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()
    try:
        _run([*as_owner, str(bin_dir / "initdb"), "-D", str(data), "-U", "dlvsml",
              "--auth=trust", "-E", "UTF8", "--no-sync"])  # fmt: skip
        _run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"),
              "-w", "-o", f"-k {folder} -h 127.0.0.1 -p {port} -F", "start"])  # fmt: skip
        try:
            _run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "dlvsml",
                  database])  # fmt: skip
            yield f"postgresql+psycopg://dlvsml@127.0.0.1:{port}/{database}"
        finally:
            _run([*as_owner, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w",
                  "stop"])  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")


def _version(initdb: Path) -> tuple[int, ...]:
    name = initdb.parent.parent.name
    return tuple(int(part) for part in name.split(".") if part.isdigit())
