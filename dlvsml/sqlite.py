"""SQLite stores in write-ahead-log mode, so a cell's dozens of small commits cost microseconds.

MLflow and Optuna commit after every write (a run, a tag, a trial parameter): about 60 commits a
cell. In SQLite's default rollback-journal mode each commit waits for an fsync, 5–10 ms on a
cloud disk, which made store writes most of the harness's own time. In WAL mode with
``synchronous=NORMAL`` (SQLite's recommended pairing) a commit is an append to the log: a killed
process loses nothing that was committed, a power cut at worst the last few commits, and readers
(the dashboard, other workers) no longer block the writer.

Only the database files dlvsml opens as stores are switched; other SQLite databases in the same
process keep their settings. Set ``DLVSML_SQLITE_WAL=0`` to leave the stores in rollback mode
(e.g. on a network file system, where WAL's shared memory does not work).
"""

from __future__ import annotations

import os
import sqlite3
from functools import cache
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

_STORES: set[str] = set()  # real paths of the database files to switch


def use_wal(url: str) -> None:
    """Switch the SQLite database behind ``url`` to WAL mode whenever it is connected to."""
    if os.environ.get("DLVSML_SQLITE_WAL", "1") == "0" or not url.startswith("sqlite"):
        return
    database = make_url(url).database
    if not database or database == ":memory:":
        return
    _STORES.add(os.path.realpath(database))
    _listen()


@cache
def _listen() -> None:
    event.listen(Engine, "connect", _on_connect)


def _on_connect(connection: Any, record: Any) -> None:
    if not isinstance(connection, sqlite3.Connection):
        return
    rows = connection.execute("PRAGMA database_list").fetchall()
    path = next((row[2] for row in rows if row[1] == "main"), "")
    if not path or os.path.realpath(path) not in _STORES:
        return
    try:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
    except sqlite3.OperationalError:  # locked by a process mid-switch: keep the default mode
        pass
