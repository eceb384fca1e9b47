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


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path: Path) -> None:
    import json

    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "name: plan\ndatasets: [builtin:wine]\ntrain_sizes: [30, 60, 5000]\n"
        "models: [linear, mlp]\nseeds: 2\nbudget: {trials: 2, seconds: 3}\n"
    )
    env = {"MLFLOW_TRACKING_URI": ""}
    result = run_cli("run", str(spec), "--dry-run", "--workers", "2", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "wine" in result.stdout and "30, 60" in result.stdout and "linear, mlp" in result.stdout
    assert "not run" in result.stdout and "wine/5000/linear/0" in result.stdout
    assert "8 cells × 3 s of tuning / 2 worker(s) ≈ 0.2 min" in result.stdout
    assert sorted(path.name for path in tmp_path.iterdir()) == ["spec.yaml"]  # nothing ran
    plan = json.loads(
        run_cli("run", str(spec), "--dry-run", "--json", cwd=tmp_path, env=env).stdout
    )
    assert plan["datasets"]["wine"] == {"cells": 8, "sizes": [30, 60], "models": ["linear", "mlp"]}
    assert plan["estimated_seconds"] == 24 and len(plan["skipped"]) == 4
