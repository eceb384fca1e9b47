"""examples/quickstart.ipynb runs headless in a kernel of this interpreter: no cell errors, the
learning curves come out as a PNG, and the committed notebook carries no outputs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"
KERNEL = "dlvsml-test"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec running this interpreter, in a temporary JUPYTER_PATH (not the user's)."""
    spec_dir = tmp_path / "jupyter" / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec = {"argv": argv, "display_name": "dlvsml test", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "jupyter-data"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "jupyter-runtime"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)
    return KERNEL


def test_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the quickstart has no code"
    assert all(not cell.outputs and cell.execution_count is None for cell in code)


def test_quickstart_runs_and_draws_the_learning_curves(
    kernel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DLVSML_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        kernel_name=kernel,
        timeout=240,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError naming the cell if any cell fails

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    by_source = {cell.source: cell.outputs for cell in notebook.cells if cell.cell_type == "code"}
    plot = by_source["result.plot()"]
    assert any("image/png" in out.get("data", {}) for out in plot), plot
    verdict = by_source['dlvsml.recommend(modality="image", n_samples=50_000, gpu=True)']
    assert "Verdict: deep" in verdict[0]["data"]["text/html"]
    compared = by_source[_compare_cell(by_source)]
    comparison = next(out for out in compared if out.output_type == "execute_result")
    assert "<table" in comparison["data"]["text/html"]  # the leaderboard
    stderr = "".join(out.get("text", "") for out in outputs if out.get("name") == "stderr")
    assert stderr.count("\n") < 20, stderr  # progress must not print a line per update
    assert not [out for out in outputs if "ipywidgets" in json.dumps(out.get("data", {}))]
    assert (tmp_path / "mlflow.db").is_file()


def _compare_cell(sources: dict) -> str:
    return next(source for source in sources if "dlvsml.compare(" in source)
