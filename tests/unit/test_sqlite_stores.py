"""Stores in WAL mode: dlvsml's MLflow and Optuna databases, and only those."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from dlvsml.stores import open_storage
from dlvsml.tracking import Tracker


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA journal_mode").fetchone()[0]


def test_tracking_and_tuning_stores_use_write_ahead_logging(tmp_path: Path) -> None:
    Tracker("wal", f"sqlite:///{tmp_path / 'mlflow.db'}")
    storage = open_storage(f"sqlite:///{tmp_path / 'optuna.db'}")
    with storage.engine.connect() as connection:
        synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    assert _journal_mode(tmp_path / "mlflow.db") == "wal"
    assert _journal_mode(tmp_path / "optuna.db") == "wal"
    assert synchronous == 1  # NORMAL: no fsync per commit


def test_other_sqlite_databases_in_the_process_are_left_alone(tmp_path: Path) -> None:
    Tracker("wal", f"sqlite:///{tmp_path / 'mlflow.db'}")
    engine = create_engine(f"sqlite:///{tmp_path / 'mine.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        synchronous = connection.execute(text("PRAGMA synchronous")).scalar()
    assert _journal_mode(tmp_path / "mine.db") == "delete"
    assert synchronous == 2  # FULL, SQLite's default


def test_wal_can_be_turned_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DLVSML_SQLITE_WAL", "0")
    Tracker("no-wal", f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert _journal_mode(tmp_path / "mlflow.db") == "delete"
