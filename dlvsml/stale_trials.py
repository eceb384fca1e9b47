"""Trials left RUNNING by a dead process: recognised whatever the moment of death, then retried.

Optuna fails a RUNNING trial whose heartbeat is older than the grace period, but a trial whose
process died before its first heartbeat has no heartbeat row and stays RUNNING for ever (a
resume then waited on it for ever). So each trial records its owner (host, PID and the
process's start time, which tells a reused PID apart) as a system attribute, in the
transaction that makes it RUNNING (creating it, or claiming it from the queue). A RUNNING trial
is dead when

- the store is SQLite (its writers share one host), the owner ran on this host and that
  process is gone: no grace period to wait; or
- on any store, it has shown no sign of life for the grace period: its last heartbeat (Optuna's
  rule), or, without one, its start.

A dead trial is recorded FAIL (with the reason) and retried once by the storage's stale-trial
callback, exactly as Optuna does for a stale heartbeat. `OthersWait` bounds the wait for the
trials other workers are running and says once, on stderr, what it waits for.

Example::

    storage = OwnedTrialsStorage(url, heartbeat_interval=10, grace_period=60,
                                 heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(1))
    running = fail_dead_trials(study)  # the RUNNING trials whose process is alive
"""

from __future__ import annotations

import copy
import os
import socket
import sys
import time
import warnings
from datetime import datetime
from functools import cache
from typing import Any

import optuna
import psutil
import sqlalchemy
from optuna.storages._rdb import models  # private: checked against Optuna 5.1
from optuna.storages._rdb.storage import _create_scoped_session
from optuna.trial import FrozenTrial, TrialState

OWNER = "dlvsml:owner"  # trial system attribute: {"host", "pid", "started"}
# The most a worker waits for trials that live workers of other processes are running.
WAIT_SECONDS = float(os.environ.get("DLVSML_OTHERS_WAIT_SECONDS", "3600"))
_POLL_SECONDS = 1.0


@cache
def this_process() -> dict[str, Any]:
    """This process as a trial's owner: host name, PID and start time (epoch seconds)."""
    started = psutil.Process().create_time()
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": started}


class OwnedTrialsStorage(optuna.storages.RDBStorage):
    """An RDB storage whose trials record their owning process when they start."""

    def _create_new_trial(
        self, study_id: int, template_trial: FrozenTrial | None = None
    ) -> FrozenTrial:
        if template_trial is None:  # a new RUNNING trial: stamped in its creating transaction
            template_trial = FrozenTrial(
                number=-1,
                state=TrialState.RUNNING,
                value=None,
                datetime_start=datetime.now(),
                datetime_complete=None,
                params={},
                distributions={},
                user_attrs={},
                system_attrs={OWNER: this_process()},
                intermediate_values={},
                trial_id=-1,
            )
        return super()._create_new_trial(study_id, template_trial)

    def set_trial_state_values(self, trial_id: int, state: TrialState, values: Any = None) -> bool:
        if state != TrialState.RUNNING:
            return super().set_trial_state_values(trial_id, state, values)
        # Claiming a queued trial (the defaults, a retry): Optuna's code, plus the owner, in
        # one transaction, so that no process can die with a RUNNING trial that names nobody.
        try:
            with _create_scoped_session(self.scoped_session) as session:
                trial = models.TrialModel.find_or_raise_by_id(trial_id, session, for_update=True)
                self.check_trial_is_updatable(trial_id, trial.state)
                if trial.state != TrialState.WAITING:
                    return False
                trial.state, trial.datetime_start = state, datetime.now()
                self._set_trial_attr_without_commit(
                    session, models.TrialSystemAttributeModel, trial_id, OWNER, this_process()
                )
        except sqlalchemy.exc.IntegrityError:
            return False
        return True


def fail_dead_trials(study: optuna.Study) -> list[FrozenTrial]:
    """Fail (and queue a retry of) the study's RUNNING trials whose process is dead; return
    the RUNNING trials left, those of live processes (this one's included)."""
    storage = _rdb(study)
    with warnings.catch_warnings(category=optuna.exceptions.ExperimentalWarning):
        warnings.simplefilter("ignore")
        optuna.storages.fail_stale_trials(study)  # stale heartbeats, on the database's clock
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    if storage is None or not running:
        return running
    silent = _without_heartbeat(storage, [t._trial_id for t in running])
    local = storage.url.startswith("sqlite")
    alive = []
    for trial in running:
        reason = _death(trial, local, trial._trial_id in silent, storage.grace_period or 60)
        if reason is None or not _fail(study, storage, trial, reason):
            alive.append(trial)
    return alive


def _death(trial: FrozenTrial, local: bool, silent: bool, grace: float) -> str | None:
    """Why ``trial`` is dead, or None while it may be alive."""
    owner = trial.system_attrs.get(OWNER)
    if local and owner and owner.get("host") == socket.gethostname() and _gone(owner):
        return f"its process {owner['pid']} on {owner['host']} died"
    started = trial.datetime_start
    if silent and started and (datetime.now() - started).total_seconds() > grace:
        return f"no heartbeat {grace:g} s after it started (its process died)"
    return None


def _gone(owner: dict[str, Any]) -> bool:
    """Whether the owner process has ended (a zombie has; a reused PID is another process)."""
    try:
        process = psutil.Process(owner["pid"])
        if process.status() == psutil.STATUS_ZOMBIE:
            return True
        return abs(process.create_time() - float(owner["started"])) > 1.0
    except psutil.NoSuchProcess:
        return True
    except psutil.Error:  # not ours to inspect: assume alive, the grace rule still applies
        return False


def _fail(
    study: optuna.Study, storage: optuna.storages.RDBStorage, trial: FrozenTrial, reason: str
) -> bool:
    """Record ``trial`` FAIL and run the retry callback; False if another process was first."""
    try:
        storage.set_trial_user_attr(trial._trial_id, "fail_reason", reason)
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    callback = storage.get_heartbeat_stale_trial_callback()
    if callback is not None:
        callback(study, copy.deepcopy(storage.get_trial(trial._trial_id)))
    return True


def _without_heartbeat(storage: optuna.storages.RDBStorage, trial_ids: list[int]) -> set[int]:
    table = models.TrialHeartbeatModel.__table__
    query = sqlalchemy.select(table.c.trial_id).where(table.c.trial_id.in_(trial_ids))
    with storage.engine.connect() as connection:
        beating = set(connection.execute(query).scalars())
    return set(trial_ids) - beating


def _rdb(study: optuna.Study) -> optuna.storages.RDBStorage | None:
    """The RDB storage behind ``study`` (Optuna wraps it in a cache)."""
    storage = getattr(study._storage, "_backend", study._storage)
    return storage if isinstance(storage, optuna.storages.RDBStorage) else None


class OthersWait:
    """A bounded wait for the trials other processes are running (one may be the best).

    Each look fails the dead ones first (their retries then run here); the first look that
    finds live ones says on stderr what it waits for. After ``limit`` seconds the wait ends
    anyway, and the caller goes on with the trials that finished.
    """

    def __init__(self, study_name: str, limit: float = WAIT_SECONDS) -> None:
        self.study_name, self.limit = study_name, limit
        self.deadline: float | None = None

    def others_running(self, study: optuna.Study) -> bool:
        """Whether to look again: a retry is queued, or live trials of other processes run and
        the bound is not reached."""
        me, queued = this_process(), _queued(study)
        others = [t for t in fail_dead_trials(study) if t.system_attrs.get(OWNER) != me]
        if _queued(study) > queued:
            return True  # a dead trial's retry, to run here now
        if not others:
            return False
        if self.deadline is None:
            self.deadline = time.monotonic() + self.limit
            self._say(others)
        elif time.monotonic() > self.deadline:
            print(
                f"dlvsml: cell {self.study_name}: stopped waiting after {self.limit:g} s "
                f"(DLVSML_OTHERS_WAIT_SECONDS); going on without trials {_numbers(others)}",
                file=sys.stderr,
                flush=True,
            )
            return False
        time.sleep(_POLL_SECONDS)
        return True

    def _say(self, others: list[FrozenTrial]) -> None:
        owners = sorted(
            {f"{o['host']}:{o['pid']}" for t in others if (o := t.system_attrs.get(OWNER))}
        )
        print(
            f"dlvsml: cell {self.study_name}: waiting for trials {_numbers(others)} running in "
            f"other processes ({', '.join(owners) or 'owner not recorded'}); a dead one is "
            f"failed and retried here, at most {self.limit:g} s (DLVSML_OTHERS_WAIT_SECONDS)",
            file=sys.stderr,
            flush=True,
        )


def _queued(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.WAITING,)))


def _numbers(trials: list[FrozenTrial]) -> str:
    return ", ".join(str(t.number) for t in trials)
