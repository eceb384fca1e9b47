"""Executors: the registry, and the Ray executor's checks made before any task is submitted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dlvsml.errors import DlvsmlError, SpecError, TrackingError
from dlvsml.run.executors import EXECUTORS, ExecutorOptions, get_executor
from dlvsml.run.executors import ray as ray_executor
from dlvsml.spec import parse_spec
from dlvsml.tracking import server_command
from tests.conftest import run_cli

SPEC = {"name": "x", "datasets": ["builtin:breast_cancer"], "train_sizes": [40]}
CPU_NODE = {"CPU": 8.0}
GPU_NODE = {"CPU": 16.0, "GPU": 2.0}


def test_executors_are_registered_by_name() -> None:
    assert {"local", "processes", "ray"} <= set(EXECUTORS)
    assert get_executor("ray") is ray_executor.run_ray
    with pytest.raises(SpecError, match="unknown executor 'slurm'; use one of local, processes"):
        get_executor("slurm")


def test_local_runs_never_import_ray() -> None:
    code = (
        "import sys, dlvsml.cli, dlvsml.run.suite, dlvsml.run.executors; "
        "print('ray' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr


def test_a_missing_ray_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    spec = parse_spec(SPEC)
    with pytest.raises(DlvsmlError, match=r"pip install 'dlvsml\[ray\]'"):
        ray_executor.run_ray(spec, [], ExecutorOptions(), recorder=None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("nodes", "asked", "expected"),
    [
        ([CPU_NODE], None, 0.0),  # no GPU anywhere: nets train on CPUs
        ([CPU_NODE, GPU_NODE], None, 1.0),  # a GPU somewhere: each net asks for one
        ([GPU_NODE], 0.5, 0.5),  # two nets share a GPU
        ([GPU_NODE], 0.0, 0.0),
    ],
)
def test_gpus_per_neural_cell(nodes: list, asked: float | None, expected: float) -> None:
    options = ExecutorOptions(gpus_per_neural_cell=asked)
    assert ray_executor._gpus_per_neural_cell(nodes, options) == expected


def test_resources_no_node_has_are_refused_not_waited_for() -> None:
    with pytest.raises(SpecError, match="--gpus-per-neural-cell 1 exceeds the largest Ray node"):
        ray_executor._gpus_per_neural_cell([CPU_NODE], ExecutorOptions(gpus_per_neural_cell=1))
    with pytest.raises(SpecError, match="--cpus-per-cell 12 exceeds the largest Ray node"):
        ray_executor._gpus_per_neural_cell([CPU_NODE], ExecutorOptions(cpus_per_cell=12))


def test_the_optuna_storage_is_fixed_in_the_driver_and_must_be_shared_across_nodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    spec = parse_spec(SPEC)
    assert ray_executor._portable(spec, 1).optuna_storage == f"sqlite:///{tmp_path / 'optuna.db'}"
    with pytest.raises(TrackingError, match="2 nodes but the Optuna storage is the SQLite file"):
        ray_executor._portable(spec, 2)
    shared = parse_spec({**SPEC, "optuna_storage": "postgresql+psycopg://u@db:5432/optuna"})
    assert ray_executor._portable(shared, 2).optuna_storage == shared.optuna_storage


def test_server_command_binds_loopback_with_one_worker_and_refuses_folders() -> None:
    command = server_command("sqlite:///m.db", "/srv/artifacts", "127.0.0.1", 5000, ["--x", "1"])
    assert command[1:4] == ["-m", "mlflow", "server"]
    joined = " ".join(command)
    assert "--backend-store-uri sqlite:///m.db" in joined and "--workers 1" in joined
    assert "--host 127.0.0.1 --port 5000" in joined and joined.endswith("--x 1")
    for bad in ("file:///tmp/mlruns", "mlruns", "http://other:5000"):
        with pytest.raises(TrackingError, match="not a database URL"):
            server_command(bad, "/srv/artifacts", "127.0.0.1", 5000)


def test_tune_worker_names_an_unknown_cell_in_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "x.yaml"
    spec.write_text("name: x\ndatasets: [builtin:breast_cancer]\ntrain_sizes: [40]\n")
    result = run_cli("tune-worker", str(spec), "--cell", "nope", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "no cell 'nope' in spec 'x'" in result.stderr
    assert "breast_cancer/40/linear/0" in result.stderr


CHILDREN = """
import atexit, multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
from dlvsml.run.executors.local import _event_queue
from dlvsml.lifetime import start_child as _start_child

# Registered on import, in the parent and in each spawned child before its initializer: a child
# that skips the interpreter's teardown never runs it.
atexit.register(lambda: open(f"teardown-{os.getpid()}", "w").close())

def square(n):
    sys.stdout.write(f"<{n}>")  # no newline, into a pipe: written only if flushed at exit
    return n * n

if __name__ == "__main__":
    context = multiprocessing.get_context("spawn")
    with _event_queue(context) as events, ProcessPoolExecutor(
        2, mp_context=context, initializer=_start_child
    ) as pool:
        events.put("ok")
        results = sorted(pool.map(square, range(6)))
        children = list(pool._processes.values())
        print(results, events.get(), flush=True)
    print([child.exitcode for child in children], os.getpid(), flush=True)
"""


def test_worker_processes_deliver_every_result_and_output_then_skip_teardown(
    tmp_path: Path,
) -> None:
    (tmp_path / "children.py").write_text(CHILDREN)
    done = subprocess.run(
        [sys.executable, "children.py"], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert "[0, 1, 4, 9, 16, 25] ok" in done.stdout
    assert all(f"<{n}>" in done.stdout for n in range(6))
    exit_codes, parent = done.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert exit_codes == "[0, 0]"
    assert [p.name for p in tmp_path.glob("teardown-*")] == [f"teardown-{parent}"]
