"""Thread settings of cell processes: caps per worker, and idle OpenMP threads that sleep."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from dlvsml.resources import THREAD_VARIABLES, thread_environment


def test_thread_environment_caps_every_pool_and_makes_idle_openmp_threads_sleep(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    env = thread_environment(3)
    assert {env[name] for name in THREAD_VARIABLES} == {"3"}
    assert env["OMP_WAIT_POLICY"] == "PASSIVE"
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")  # the user's choice stands
    assert thread_environment(1)["OMP_WAIT_POLICY"] == "ACTIVE"


def _wait_policies(user_policy: str | None) -> list[str]:
    """OMP_WAIT_POLICY as each OpenMP runtime loaded by the runner and the models read it (each
    prints its settings as it loads when OMP_DISPLAY_ENV is set)."""
    env = {**os.environ, "OMP_DISPLAY_ENV": "TRUE"}
    env.pop("OMP_WAIT_POLICY", None)
    if user_policy:
        env["OMP_WAIT_POLICY"] = user_policy
    code = "import dlvsml.runner; from dlvsml.models import all_models; all_models()"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return re.findall(r"OMP_WAIT_POLICY = '(\w+)'", done.stderr)


def test_openmp_runtimes_of_a_dlvsml_process_read_the_passive_default_or_the_users_policy() -> None:
    found = _wait_policies(None)
    assert len(found) >= 2 and set(found) == {"PASSIVE"}  # scikit-learn's libgomp and torch's
    assert set(_wait_policies("ACTIVE")) == {"ACTIVE"}
