"""PostgreSQL, where workers run on several hosts: a trial whose process died before its first
heartbeat has no proof of death but its silence; it is failed and retried after the grace
period, not before."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest

from dlvsml.stale_trials import fail_dead_trials
from tests.integration.postgres import postgres_bin, postgres_server
from tests.unit.test_stale_trials import DIES_IN_TRIAL, _states, _storage

PG_BIN = postgres_bin()
pytestmark = [
    pytest.mark.skipif(
        PG_BIN is None, reason="PostgreSQL server binaries are absent (apt-get install postgresql)"
    ),
    pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning"),
]
GRACE = 3


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    assert PG_BIN is not None
    with postgres_server(PG_BIN) as url:
        yield url


def test_a_trial_dead_before_its_first_heartbeat_is_failed_after_the_grace_period(
    postgres_url: str, tmp_path: Path
) -> None:
    study = optuna.create_study(study_name="s", storage=_storage(postgres_url, grace=GRACE))
    script = tmp_path / "dies.py"
    script.write_text(DIES_IN_TRIAL)
    died = subprocess.run(
        [sys.executable, str(script), postgres_url, "new"], capture_output=True, timeout=300
    )
    assert died.returncode == -9, died.stderr
    killed_at = time.monotonic()
    running = fail_dead_trials(study)
    if time.monotonic() - killed_at < GRACE - 0.5:  # a dead PID proves nothing on a shared store
        assert len(running) == 1 and _states(study) == ["RUNNING"]
    deadline = time.monotonic() + 60
    while fail_dead_trials(study):
        assert time.monotonic() < deadline, "the silent trial was never failed"
        time.sleep(0.2)
    assert _states(study) == ["FAIL", "WAITING"]
    assert "no heartbeat" in study.trials[0].user_attrs["fail_reason"]
