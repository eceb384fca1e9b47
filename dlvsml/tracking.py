"""Tracking: MLflow is the single record of results; this is the only module that imports it.

One MLflow experiment per spec name; one parent run per cell, named ``dataset/size/model/seed``
and tagged (dataset, modality, task, train_size, model, family, seed, cell_key, spec, device,
status, kind=cell) so the dashboard can filter and the runner can resume; one nested run per
Optuna trial (kind=trial). A cell whose parent run is FINISHED is done; RUNNING parent runs left by
a killed process are marked FAILED when the suite resumes.

Store: the spec's ``tracking_uri``, else ``MLFLOW_TRACKING_URI``, else ``sqlite:///mlflow.db`` in
the working directory (this MLflow refuses the plain file store). Fitted models are not logged:
`mlflow.sklearn.log_model` costs seconds per cell and the metrics, params and plots are what the
analysis reads; refit from the best params to get a model.

Example::

    results_frame("quick")[["dataset", "train_size", "model", "test_accuracy"]]
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# With a tracking server, MLflow prints each finished run's URL on stdout (breaking --json).
os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")

import pandas as pd
from mlflow.entities import Metric, Param, Run, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from dlvsml.cell_plots import confusion_matrix_figure, residual_figure
from dlvsml.errors import TrackingError
from dlvsml.faults import fault_point
from dlvsml.records import Cell, CellResult, SkippedCell
from dlvsml.spec import ExperimentSpec
from dlvsml.sqlite import use_wal

logging.getLogger("mlflow").setLevel(logging.WARNING)  # not "Creating initial tables" on each run
# It logs a database error with its traceback before raising it; the raise becomes one line.
logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
PARENT_RUN_ID = "mlflow.parentRunId"
CELL_TAGS = ("dataset", "modality", "task", "train_size", "model", "family", "seed")
_TRIAL_STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}
_BATCH = 100  # MLflow accepts at most 100 params or tags (1000 entries) per log_batch call


def tracking_uri(spec: ExperimentSpec | None = None) -> str:
    """Where results go: spec, then ``MLFLOW_TRACKING_URI``, then ``./mlflow.db``."""
    uri = (spec.tracking_uri if spec else None) or os.environ.get("MLFLOW_TRACKING_URI")
    uri = uri or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    if uri.startswith("file:") or "://" not in uri:
        raise TrackingError(
            f"tracking store {uri!r} is a plain folder, which this MLflow refuses; use a database "
            "such as sqlite:///mlflow.db or a server such as http://127.0.0.1:5000"
        )
    return uri


class Tracker:
    """The MLflow experiment of one spec: what is done, and recording cells as they run."""

    def __init__(self, spec_name: str, uri: str, create: bool = True) -> None:
        self.spec_name, self.uri = spec_name, uri
        _check_reachable(uri)
        use_wal(uri)
        try:
            self.client = MlflowClient(tracking_uri=uri)
            self.experiment_id = self._experiment(create)
        except TrackingError:
            raise
        except Exception as exc:  # MLflow, SQLAlchemy and OS errors all mean "unusable store"
            raise TrackingError(_store_problem(uri, exc)) from None

    def finished_cell_keys(self) -> set[str]:
        """Keys of cells whose parent run FINISHED (done or deliberately skipped)."""
        runs = self._cell_runs("attributes.status = 'FINISHED'")
        return {run.data.tags["cell_key"] for run in runs}

    def fail_stale_runs(self) -> int:
        """Mark RUNNING runs left by a killed process FAILED; return how many."""
        stale = self._search("attributes.status = 'RUNNING'") if self.experiment_id else []
        for run in stale:
            self.client.set_tag(run.info.run_id, "status", "failed")
            self.client.set_tag(run.info.run_id, "failure_reason", "interrupted (process ended)")
            self.client.set_terminated(run.info.run_id, "FAILED")
        return len(stale)

    def start_cell(self, cell: Cell, spec: ExperimentSpec, started_at: float) -> str:
        """Open the cell's parent run (RUNNING until `finish_cell`); return its run id."""
        run = self.client.create_run(
            self.experiment_id,
            start_time=int(started_at * 1000),
            run_name=cell.label,
            tags={**_cell_tags(cell, spec), "status": "running"},
        )
        return run.info.run_id

    def finish_cell(self, run_id: str, result: CellResult) -> None:
        """Record a cell's outcome, its trials as nested runs, and its figures."""
        tags = {"status": result.status, "device": result.device, "metric": result.metric}
        tags |= result.indices
        if result.stopped_by:
            tags["stopped_by"] = result.stopped_by
        if "budget_bound" in result.measurements:
            tags["budget_bound"] = str(bool(result.measurements["budget_bound"])).lower()
        if result.reason:
            tags["failure_reason"] = result.reason
        if result.no_signal is not None:
            tags["no_signal"] = str(result.no_signal).lower()
        if result.best_params:
            tags["best_params"] = json.dumps(result.best_params, default=str)[:5000]
        metrics = dict(result.measurements)
        metrics |= {f"test_{name}": value for name, value in result.test_metrics.items()}
        if result.validation_score is not None:
            metrics["validation_score"] = result.validation_score
        if result.dummy_validation_score is not None:
            metrics["dummy_validation_score"] = result.dummy_validation_score
        self._log(run_id, metrics, result.best_params, tags, int(result.ended_at * 1000))
        fault_point("cell_logging")
        for trial in result.trials:
            self._log_trial(run_id, result.cell, trial)
        self._log_artifacts(run_id, result)
        status = "FINISHED" if result.status == "finished" else "FAILED"
        self.client.set_terminated(run_id, status, end_time=int(result.ended_at * 1000))

    def record_skipped(self, skipped: SkippedCell, spec: ExperimentSpec) -> None:
        """A cell the plan refuses, as a FINISHED run with status ``skipped`` and the reason."""
        tags = {**_cell_tags(skipped.cell, spec), "status": "skipped"}
        run = self.client.create_run(
            self.experiment_id,
            run_name=skipped.cell.label,
            tags={**tags, "failure_reason": skipped.reason},
        )
        self.client.set_terminated(run.info.run_id, "FINISHED")

    def results(self) -> pd.DataFrame:
        """One row per cell (its latest run, FINISHED preferred); see `results_frame`."""
        records = [_record(run) for run in self._cell_runs()]
        frame = pd.DataFrame.from_records(records)
        if frame.empty:
            return frame
        frame["_finished"] = frame["run_status"] == "FINISHED"
        frame = frame.sort_values(["_finished", "start_time"]).drop_duplicates(
            "cell_key", keep="last"
        )
        order = ["dataset", "budget_index", "seed", "train_size", "model"]
        frame = _flag_types(frame.drop(columns="_finished"))
        return frame.sort_values(order).reset_index(drop=True)

    def _experiment(self, create: bool) -> str | None:
        try:
            found = self.client.get_experiment_by_name(self.spec_name)
            if found is not None:
                if found.lifecycle_stage == "deleted":
                    self.client.restore_experiment(found.experiment_id)
                return found.experiment_id
            if not create:
                return None
            return self.client.create_experiment(self.spec_name, self._artifact_location())
        except MlflowException as exc:
            raise TrackingError(_store_problem(self.uri, exc)) from None

    def _artifact_location(self) -> str | None:
        # Artifacts sit beside a SQLite store, whatever the working directory.
        if not self.uri.startswith("sqlite:///"):
            return None
        database = Path(self.uri.removeprefix("sqlite:///"))
        return (database.parent / "mlartifacts" / self.spec_name).resolve().as_uri()

    def _cell_runs(self, condition: str = "") -> list[Run]:
        if self.experiment_id is None:
            return []
        return self._search("tags.kind = 'cell'" + (f" and {condition}" if condition else ""))

    def _search(self, filter_string: str) -> list[Run]:
        runs: list[Run] = []
        token = None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string, max_results=10000, page_token=token
            )
            runs.extend(page)
            token = page.token
            if not token:
                return runs

    def _log(
        self,
        run_id: str,
        metrics: dict[str, float],
        params: dict[str, Any],
        tags: dict[str, str],
        timestamp: int,
    ) -> None:
        metric_list = [Metric(k, float(v), timestamp, 0) for k, v in metrics.items() if _finite(v)]
        param_list = [Param(k, str(v)[:6000]) for k, v in params.items()]
        tag_list = [RunTag(k, str(v)) for k, v in tags.items()]
        for start in range(0, max(len(metric_list), len(param_list), len(tag_list)), _BATCH):
            self.client.log_batch(  # one round trip (and commit) per 100 of each
                run_id,
                metrics=metric_list[start : start + _BATCH],
                params=param_list[start : start + _BATCH],
                tags=tag_list[start : start + _BATCH],
            )

    def _log_trial(self, parent_id: str, cell: Cell, trial: Any) -> None:
        run = self.client.create_run(
            self.experiment_id,
            run_name=f"{cell.label}/trial-{trial.number}",
            tags={
                PARENT_RUN_ID: parent_id,
                "kind": "trial",
                "cell_key": cell.key,
                "model": cell.model,
                "trial": str(trial.number),
                "state": trial.state,
            },
        )
        metrics = {"validation_score": trial.value, "trial_seconds": trial.seconds}
        metrics = {k: v for k, v in metrics.items() if v is not None}
        tags = {"fail_reason": trial.reason} if trial.reason else {}
        if trial.reused_from:
            tags["reused_from"] = trial.reused_from
        self._log(run.info.run_id, metrics, trial.params, tags, int(time.time() * 1000))
        status = _TRIAL_STATUS.get(trial.state, "FAILED")
        self.client.set_terminated(run.info.run_id, status)

    def _log_artifacts(self, run_id: str, result: CellResult) -> None:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            if result.y_test is not None and result.y_pred is not None:
                title = f"{result.cell.label} (test split)"
                if result.cell.task == "regression":
                    figure = residual_figure(result.y_test, result.y_pred, title)
                    figure.savefig(root / "residuals.png", dpi=90)
                else:
                    figure = confusion_matrix_figure(
                        result.y_test, result.y_pred, result.class_names, title
                    )
                    figure.savefig(root / "confusion_matrix.png", dpi=90)
            if result.history:
                (root / "history.json").write_text(json.dumps(result.history, default=float))
                pd.DataFrame(result.history).to_csv(root / "history.csv", index=False)
            if any(root.iterdir()):
                self.client.log_artifacts(run_id, str(root))


def finished_cell_keys(spec_name: str, uri: str | None = None) -> set[str]:
    """Keys of the spec's cells already FINISHED in the store (what a re-run skips)."""
    return Tracker(spec_name, uri or tracking_uri(), create=False).finished_cell_keys()


def results_frame(spec_name: str, uri: str | None = None) -> pd.DataFrame:
    """One row per cell of a spec, read back from MLflow.

    Columns: run_id, run_name, cell_key, dataset, dataset_uri, modality, task, train_size, model,
    family, seed, status (finished | failed | skipped | running), run_status, failure_reason,
    device, metric, validation_score, test_<metric> (accuracy, balanced_accuracy, f1_macro,
    roc_auc, log_loss or rmse, mae, r2), tuning_seconds, fit_seconds, predict_seconds_per_1k,
    param_count or model_bytes, peak_memory_mb, cost_usd, n_trials*, best_params (JSON),
    start_time, end_time (epoch ms); the budget (``budget`` label, ``budget_index`` in the spec's
    budgets) and its flags: trials_completed, trials_planned, n_iter_done (nullable ints),
    stopped_by (converged | clock | cap | unknown), budget_bound (bool; see
    `dlvsml.run.budget_flags`). Empty when the spec has no runs yet.
    """
    return Tracker(spec_name, uri or tracking_uri(), create=False).results()


def log_report(spec_name: str, uri: str, report_dir: Path) -> str:
    """Log a generated report folder as artifacts of a ``kind=report`` run; return the run id."""
    tracker = Tracker(spec_name, uri)
    run = tracker.client.create_run(
        tracker.experiment_id, run_name=f"report/{spec_name}", tags={"kind": "report"}
    )
    tracker.client.log_artifacts(run.info.run_id, str(report_dir), artifact_path="report")
    tracker.client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id


def experiment_id(spec_name: str, uri: str) -> str | None:
    """The MLflow experiment id of a spec, if it has been run."""
    return Tracker(spec_name, uri, create=False).experiment_id


def ui_command(uri: str, host: str, port: int) -> list[str]:
    """The `mlflow ui` command line that serves a store (one worker: a local dashboard)."""
    return [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", uri, "--host", host, "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def server_command(
    backend_store_uri: str,
    artifacts_destination: str,
    host: str,
    port: int,
    extra: Sequence[str] = (),
) -> list[str]:
    """The `mlflow server` command line of a tracking server that workers log to by URL.

    Artifacts (plots, histories) are uploaded through the server into ``artifacts_destination``,
    so clients need no shared folder. One worker process: the runner is the only writer.
    """
    if "://" not in backend_store_uri or backend_store_uri.startswith(("file:", "http")):
        raise TrackingError(
            f"backend store {backend_store_uri!r} is not a database URL; use sqlite:///mlflow.db "
            "or postgresql+psycopg://USER@HOST:5432/DB"
        )
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", backend_store_uri,
        "--artifacts-destination", artifacts_destination,
        "--host", host, "--port", str(port), "--workers", "1", *extra,
    ]  # fmt: skip


def server_environment() -> dict[str, str]:
    """The environment of `server_command`: without MLflow's GenAI job runners (seven extra
    processes dlvsml never uses) unless the user asked for them."""
    return {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}


def save_view(spec_name: str, uri: str, key: str, view: dict[str, Any]) -> str | None:
    """Store a dashboard view of a spec's runs as the experiment tag MLflow's UI loads for
    ``viewStateShareKey=<key>``; return the experiment id (None when the spec has no runs)."""
    tracker = Tracker(spec_name, uri, create=False)
    if tracker.experiment_id is not None:
        tracker.client.set_experiment_tag(
            tracker.experiment_id, f"mlflow.sharedViewState.{key}", json.dumps(view)
        )
    return tracker.experiment_id


def _check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not after MLflow's minutes of retries, when a server is not there."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise TrackingError(
            f"cannot reach the MLflow tracking server {uri} ({exc.strerror or exc}); start it, "
            "or set tracking_uri / MLFLOW_TRACKING_URI to a reachable server or sqlite:///mlflow.db"
        ) from None


def _store_problem(uri: str, exc: Exception) -> str:
    """One line saying why a store cannot be used and what to do."""
    message = str(getattr(exc, "message", None) or exc).strip()
    first = message.splitlines()[0] if message else type(exc).__name__
    if "locked" in message:
        hint = "another process holds a lock on it; wait for that process or use another store"
    else:
        hint = "check that its folder exists and is writable, or set tracking_uri to another store"
    return f"cannot use the MLflow store {uri!r} ({type(exc).__name__}: {first[:300]}); {hint}"


def _cell_tags(cell: Cell, spec: ExperimentSpec) -> dict[str, str]:
    tags = {name: str(getattr(cell, name)) for name in CELL_TAGS}
    return tags | {
        "kind": "cell",
        "cell_key": cell.key,
        "spec": spec.name,
        "dataset_uri": cell.dataset_uri,
        "fingerprint": cell.fingerprint,
        "mlflow.runName": cell.label,
        "budget": spec.all_budgets[cell.budget].label,
        "budget_index": str(cell.budget),
    }


def _record(run: Run) -> dict[str, Any]:
    tags = run.data.tags
    record: dict[str, Any] = {
        "run_id": run.info.run_id,
        "run_name": run.info.run_name,
        "cell_key": tags.get("cell_key"),
        **{name: tags.get(name) for name in (*CELL_TAGS, "dataset_uri", "device", "metric")},
        "status": tags.get("status"),
        "run_status": run.info.status,
        "failure_reason": tags.get("failure_reason"),
        "budget": tags.get("budget"),
        "budget_index": int(tags.get("budget_index", 0)),
        "stopped_by": tags.get("stopped_by"),
        "best_params": tags.get("best_params"),
        "no_signal": {"true": True, "false": False}.get(tags.get("no_signal", "")),
        "start_time": run.info.start_time,
        "end_time": run.info.end_time,
    }
    record["train_size"] = int(record["train_size"])
    record["seed"] = int(record["seed"])
    return record | dict(run.data.metrics)


def _flag_types(frame: pd.DataFrame) -> pd.DataFrame:
    """Budget flags as their types: counts as nullable ints, ``budget_bound`` as a bool (False
    where a cell has no flags: failed, skipped, or recorded before flags existed)."""
    for column in ("trials_completed", "trials_planned", "n_iter_done"):
        if column in frame:
            frame[column] = frame[column].round().astype("Int64")
    bound = frame["budget_bound"] if "budget_bound" in frame else pd.Series(0.0, frame.index)
    frame["budget_bound"] = bound.fillna(0.0).astype(float) > 0
    return frame


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


__all__ = [
    "Tracker",
    "experiment_id",
    "finished_cell_keys",
    "results_frame",
    "save_view",
    "server_command",
    "server_environment",
    "tracking_uri",
    "ui_command",
]
