"""Records are a leaf and tracking sits below the run machinery: reading results imports no
Optuna, no torch, no models and no data layer (each check in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("torch", "optuna", "dlvsml.run", "dlvsml.tuning", "dlvsml.models", "dlvsml.data")
EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"


def _imported(code: str, cwd: Path | None = None) -> set[str]:
    """The HEAVY modules (or their submodules) loaded after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=cwd, check=True
    )
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    return {m for m in loaded for heavy in HEAVY if m == heavy or m.startswith(heavy + ".")}


def test_records_import_nothing_of_the_run_machinery() -> None:
    assert _imported("import dlvsml.records") == set()


def test_tracking_imports_no_execution_tuning_models_or_data() -> None:
    assert _imported("import dlvsml.tracking") == set()


@pytest.mark.parametrize("spec", ["quick.yaml"])
def test_dlvsml_results_imports_no_torch_and_no_optuna(tmp_path: Path, spec: str) -> None:
    code = (
        "import sys\n"
        f"sys.argv = ['dlvsml', 'results', {str(EXPERIMENTS / spec)!r}, '--json']\n"
        "from dlvsml.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass"
    )
    loaded = _imported(code, cwd=tmp_path)  # an empty store: no results, same imports
    assert not {m for m in loaded if m.split(".")[0] in ("torch", "optuna")}, sorted(loaded)
