"""The command line as a user meets it: version, help, and one-line errors."""

from __future__ import annotations

from pathlib import Path

from dlvsml import __version__
from tests.conftest import run_cli


def test_version() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"dlvsml {__version__}"


def test_help_lists_the_commands() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "results", "ui", "datasets", "profile", "models"):
        assert command in result.stdout


def test_bad_spec_is_one_line_and_exit_2(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "name: x\ndatasets: [builtin:digits]\ntrain_sizes: [10]\nbudget: {trials: -1}\n"
    )
    result = run_cli("run", str(spec), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1
    assert "budget.trials" in lines[0]
