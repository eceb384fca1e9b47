"""Chaos, short form: real `dlvsml run`s SIGKILLed at seeded random moments, then resumed
(`benchmarks/chaos.py` has the checks and the long form)."""

from __future__ import annotations

import pytest

from benchmarks.chaos import MODES, chaos

KILLS = {"driver": 10, "driver, --workers 2": 4, "worker, --workers 2": 3}


@pytest.mark.parametrize("mode", list(MODES))
def test_random_kills_lose_nothing_duplicate_nothing_leave_nothing(mode: str) -> None:
    report = chaos(mode, kills=KILLS[mode], seed=1, bound=240)
    assert report.problems == []
    assert report.waits == 0  # SQLite: a dead process's trial is failed at once, not waited on
    assert report.kills == KILLS[mode] and report.suites >= 1
