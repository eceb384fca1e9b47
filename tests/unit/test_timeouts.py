"""A hung test is stopped by pytest-timeout with a stack, under this repository's configuration."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HANGING = """\
import time


def test_waits_forever():
    time.sleep(600)
"""


@pytest.mark.parametrize(
    ("folder", "limit"), [("integration", "integration_timeout=2"), ("unit", "timeout=2")]
)
def test_a_hanging_test_fails_with_its_stack(tmp_path: Path, folder: str, limit: str) -> None:
    """The repository's pytest config (pyproject.toml and tests/conftest.py) stops a test that
    never returns and shows where it hung; the rest of the run goes on."""
    test_file = tmp_path / folder / "test_hang.py"
    test_file.parent.mkdir()
    test_file.write_text(HANGING + "\n\ndef test_after():\n    assert True\n")
    argv = [sys.executable, "-m", "pytest", "-c", str(REPO / "pyproject.toml")]
    argv += ["--rootdir", str(tmp_path), "-p", "tests.conftest", "-p", "no:randomly"]
    argv += ["-p", "no:cacheprovider", "-o", limit, str(test_file)]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Timeout (>2.0s) from pytest-timeout" in out, out
    assert "time.sleep(600)" in out and "test_hang.py" in out  # the stack names the hung line
    assert "1 failed, 1 passed" in out, out
