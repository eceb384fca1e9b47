"""The Optuna storage a suite's studies live in: where it is, and opening it once per process.

Its own module so the runner (which creates the tables before workers race to) and the
executors (which tell workers where it is) need not import tuning.

Example::

    storage = open_storage(storage_url(spec))  # sqlite:///…/optuna.db unless the spec says
"""

from __future__ import annotations

import os
import time
import warnings
from functools import lru_cache
from pathlib import Path

import optuna

from dlvsml.errors import TrackingError
from dlvsml.spec import ExperimentSpec
from dlvsml.sqlite import use_wal
from dlvsml.stale_trials import OwnedTrialsStorage

# A running trial records a heartbeat this often; one silent for GRACE_SECONDS is stale (its
# worker died): it is failed and retried once.
# DLVSML_TRIAL_GRACE_SECONDS shortens the grace where a resume should not wait a minute for the
# trial of a killed run (the fault tests); heartbeats come at a third of it, at most every 10 s.
GRACE_SECONDS = int(os.environ.get("DLVSML_TRIAL_GRACE_SECONDS", "60"))
HEARTBEAT_SECONDS = max(1, min(10, GRACE_SECONDS // 3))


def storage_url(spec: ExperimentSpec) -> str:
    """The spec's ``optuna_storage``, else ``optuna.db`` in the working directory."""
    return spec.optuna_storage or f"sqlite:///{Path.cwd() / 'optuna.db'}"


@lru_cache(maxsize=8)
def open_storage(url: str) -> optuna.storages.RDBStorage:
    """An RDB storage (one per process and URL) with heartbeats, so a dead worker's trial is
    retried; SQLite waits for locks instead of failing."""
    retries = 2  # e.g. another worker was creating the same tables at the same moment
    while True:
        try:
            return _rdb_storage(url)
        except ImportError as exc:
            raise TrackingError(
                f"cannot open the Optuna storage {url!r}: its database driver is missing "
                f"({exc.__cause__ or exc}); for PostgreSQL: pip install 'dlvsml[postgres]'"
            ) from None
        except Exception as exc:  # SQLAlchemy raises many types; all mean "unusable URL"
            if not retries:
                raise TrackingError(
                    f"cannot open the Optuna storage {url!r} ({exc}); set optuna_storage to an "
                    "RDB URL such as sqlite:///optuna.db or postgresql+psycopg://user@host:5432/db"
                ) from None
            retries -= 1
            time.sleep(1.0)


def _rdb_storage(url: str) -> optuna.storages.RDBStorage:
    use_wal(url)
    engine_kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite") else None
    with warnings.catch_warnings(category=optuna.exceptions.ExperimentalWarning):
        warnings.simplefilter("ignore")
        return OwnedTrialsStorage(
            url,
            engine_kwargs=engine_kwargs,
            heartbeat_interval=HEARTBEAT_SECONDS,
            grace_period=GRACE_SECONDS,
            heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(
                max_retry=1
            ),
        )
