"""Dead trials: found whatever the moment their process died, failed once, retried; the wait for
other workers' trials is bounded and says what it waits for."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from dlvsml.stale_trials import OWNER, OthersWait, OwnedTrialsStorage, fail_dead_trials

pytestmark = pytest.mark.filterwarnings(
    "ignore::optuna.exceptions.ExperimentalWarning", "ignore:Heartbeat of storage"
)

# A process that starts a trial and is SIGKILLed before its first heartbeat (ask() starts none).
DIES_IN_TRIAL = """
import os, signal, sys
import optuna
from dlvsml.stores import open_storage
study = optuna.load_study(study_name="s", storage=open_storage(sys.argv[1]))
trial = study.ask()  # a new trial, or the queued one when there is one
print(trial.number, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _storage(url: str, grace: int = 60) -> OwnedTrialsStorage:
    return OwnedTrialsStorage(
        url,
        heartbeat_interval=1,
        grace_period=grace,
        heartbeat_stale_trial_callback=optuna.storages.RetryHeartbeatStaleTrialCallback(1),
    )


def _states(study: optuna.Study) -> list[str]:
    return [t.state.name for t in study.get_trials(deepcopy=False)]


@pytest.mark.parametrize("how", ["new", "queued"])
def test_a_trial_killed_before_its_first_heartbeat_is_failed_at_once_and_retried(
    tmp_path: Path, how: str
) -> None:
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=_storage(url))
    if how == "queued":  # the defaults, or a retry: claimed from the queue, then stamped
        study.enqueue_trial({"x": 1.0})
    script = tmp_path / "dies.py"
    script.write_text(DIES_IN_TRIAL)
    died = subprocess.run([sys.executable, str(script), url, how], capture_output=True, timeout=300)
    assert died.returncode == -9, died.stderr
    assert _states(study) == ["RUNNING"]
    assert OWNER in study.trials[0].system_attrs  # who ran it, written when it started

    assert fail_dead_trials(study) == []  # no grace period to wait: the PID is gone
    assert _states(study) == ["FAIL", "WAITING"]  # failed once, its retry queued
    assert "died" in study.trials[0].user_attrs["fail_reason"]
    assert fail_dead_trials(study) == [] and _states(study) == ["FAIL", "WAITING"]


def test_a_live_trial_is_left_alone(tmp_path: Path) -> None:
    study = optuna.create_study(storage=_storage(f"sqlite:///{tmp_path / 'optuna.db'}"))
    trial = study.ask()
    assert [t.number for t in fail_dead_trials(study)] == [trial.number]
    study.tell(trial, 1.0)
    assert _states(study) == ["COMPLETE"]


def test_without_proof_of_death_a_silent_trial_is_failed_after_the_grace_period(
    tmp_path: Path,
) -> None:
    """What PostgreSQL gets, and a trial of another host: no heartbeat, an old start."""
    study = optuna.create_study(storage=_storage(f"sqlite:///{tmp_path / 'optuna.db'}", grace=2))
    trial = study.ask()
    owner = {"host": "elsewhere", "pid": 1, "started": 0.0}
    study._storage.set_trial_system_attr(trial._trial_id, OWNER, owner)
    assert len(fail_dead_trials(study)) == 1  # within the grace period: may be alive
    deadline = time.monotonic() + 60
    while fail_dead_trials(study):
        assert time.monotonic() < deadline, "the silent trial was never failed"
        time.sleep(0.2)
    assert _states(study) == ["FAIL", "WAITING"]
    assert "no heartbeat" in study.trials[0].user_attrs["fail_reason"]


def test_the_wait_for_other_workers_is_bounded_and_said_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = optuna.create_study(storage=_storage(f"sqlite:///{tmp_path / 'optuna.db'}"))
    trial = study.ask()
    owner = {"host": "elsewhere", "pid": 4242, "started": 0.0}
    study._storage.set_trial_system_attr(trial._trial_id, OWNER, owner)
    wait = OthersWait("cell-x", limit=1.5)
    looks = 0
    while wait.others_running(study):
        looks += 1
        assert looks < 30, "the wait did not end at its bound"
    err = capsys.readouterr().err.strip().splitlines()
    assert looks >= 1 and len(err) == 2, err
    assert err[0].startswith("dlvsml: cell cell-x: waiting for trials 0 running in other")
    assert "elsewhere:4242" in err[0]
    assert "stopped waiting after 1.5 s" in err[1]
