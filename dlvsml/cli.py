"""The `dlvsml` command line: thin wrappers that parse, call one function and print.

A `DlvsmlError` prints as one line on stderr and exits 2; any other exception is a bug (exit 1).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

try:  # typer >= 0.29 vendors click as typer._click; older typer uses click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors

from dlvsml import __version__
from dlvsml.errors import DlvsmlError

if TYPE_CHECKING:
    from dlvsml.run.suite import RunSummary

app = typer.Typer(
    name="dlvsml",
    help="Traditional ML or deep learning? Measure it on your data.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
datasets_app = typer.Typer(help="List and inspect data sources.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")

console = Console()
err_console = Console(stderr=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
UriArg = Annotated[
    str,
    typer.Argument(
        help="Source URI, e.g. builtin:digits, 'file:data.csv?target=label', npz:images.npz, "
        "imagefolder:DIR, 'textcsv:reviews.csv?text=review&label=sentiment', openml:1590, hf:imdb"
    ),
]
SpecArg = Annotated[
    Path, typer.Argument(help="Experiment spec (YAML), e.g. experiments/quick.yaml")
]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--optuna-storage",
        help="Optuna RDB URL shared by all workers (overrides the spec's optuna_storage), e.g. "
        "postgresql+psycopg://dlvsml@10.0.0.1:5432/optuna",
    ),
]


def _print_json(payload: Any) -> None:
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def _version(value: bool) -> None:
    if value:
        console.print(f"dlvsml {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Traditional ML or deep learning? Measure it on your data."""


@datasets_app.command("list")
def datasets_list(as_json: JsonFlag = False) -> None:
    """List the builtin datasets (they ship with installed packages and work offline)."""
    from dlvsml.data import builtin_catalogue

    entries = builtin_catalogue()
    if as_json:
        _print_json(entries)
        return
    table = Table("uri", "modality", "task", "description", title="Builtin datasets")
    for entry in entries:
        table.add_row(entry["uri"], entry["modality"], entry["task"], entry["description"])
    console.print(table)


@datasets_app.command("show")
def datasets_show(uri: UriArg, as_json: JsonFlag = False) -> None:
    """Load a dataset and show what dlvsml sees: modality, task, size, classes, fingerprint,
    each column's role, and the decisions taken (dropped columns, the target's task)."""
    from dlvsml.data import column_table, load_dataset

    dataset = load_dataset(uri)
    summary = {**dataset.summary(), "columns": column_table(dataset)}
    if as_json:
        _print_json(summary)
        return
    _print_mapping(
        {k: v for k, v in summary.items() if k not in ("roles", "notes", "columns")},
        title=summary["name"],
    )
    _print_columns(summary["columns"], summary["notes"])


@app.command()
def profile(uri: UriArg, as_json: JsonFlag = False) -> None:
    """Profile a dataset: the meta-features the recommender reasons with, and its columns."""
    from dlvsml.data import column_table, load_dataset, profile_dataset

    dataset = load_dataset(uri)
    facts = profile_dataset(dataset)
    columns = column_table(dataset)
    if as_json:
        _print_json({**facts, "columns": columns, "notes": list(dataset.notes)})
        return
    _print_mapping(facts, title=f"profile of {uri}")
    _print_columns(columns, list(dataset.notes))


def _print_columns(columns: list[dict[str, Any]], notes: list[str]) -> None:
    """A table's columns and roles (see `dlvsml.data.roles` for the rules), then the notes."""
    if columns:
        table = Table("column", "role", "dtype", "missing", "distinct", title="columns")
        for row in columns:
            table.add_row(
                escape(row["column"]),
                row["role"],
                row["dtype"],
                f"{row['missing_share']:.1%}",
                str(row["n_distinct"]),
            )
        console.print(table)
    for note in notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False, soft_wrap=True)


@app.command()
def models(as_json: JsonFlag = False) -> None:
    """List the registered models with their family, modalities and tasks."""
    from dlvsml.models import all_models

    entries = [spec.summary() for spec in all_models().values()]
    if as_json:
        _print_json(entries)
        return
    table = Table("name", "family", "modalities", "tasks", "description", title="Models")
    for entry in entries:
        table.add_row(
            entry["name"],
            entry["family"],
            ", ".join(entry["modalities"]),
            ", ".join(entry["tasks"]),
            entry["description"],
        )
    console.print(table)


@app.command()
def run(
    spec_path: SpecArg,
    workers: Annotated[
        int, typer.Option("--workers", "-w", min=1, help="Cells run in this many processes.")
    ] = 1,
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where cells run: local, processes (default with --workers > 1), or ray."
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join (HOST:6379); without it Ray starts locally."),
    ] = None,
    cpus_per_cell: Annotated[
        float, typer.Option(min=0.1, help="CPUs each Ray task asks for (and threads it uses).")
    ] = 1.0,
    gpus_per_neural_cell: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="GPUs a neural cell's Ray task asks for (default: 1 if the cluster has any).",
        ),
    ] = None,
    optuna_storage: StorageOption = None,
    as_json: JsonFlag = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and a time estimate; run nothing.")
    ] = False,
) -> None:
    """Run a spec's cells (tuned, tested, logged to MLflow); re-run to resume where it stopped."""
    if dry_run:
        _dry_run(_load_spec(spec_path, optuna_storage), workers, as_json)
        return
    from dlvsml.run.executors import ExecutorOptions
    from dlvsml.run.suite import run_spec

    options = ExecutorOptions(
        address=address, cpus_per_cell=cpus_per_cell, gpus_per_neural_cell=gpus_per_neural_cell
    )
    summary = run_spec(
        _load_spec(spec_path, optuna_storage),
        workers=workers,
        progress=not as_json,
        executor=executor,
        options=options,
    )
    if as_json:
        _print_json(summary.to_dict())
        return
    _show_run_summary(summary, spec_path)


def _show_run_summary(summary: RunSummary, spec_path: Path) -> None:
    """`dlvsml run`'s table, its failures, and where to look next."""
    table = Table("cells", "count", title=f"dlvsml run {summary.spec}", show_header=False)
    table.add_row("planned", str(summary.planned))
    table.add_row("already finished (skipped)", str(summary.already_done))
    table.add_row("run now, finished", str(len(summary.finished)))
    table.add_row("failed", str(len(summary.failed)))
    table.add_row("not run (model refuses size)", str(len(summary.skipped)))
    table.add_row("wall time", f"{summary.wall_seconds:.1f} s")
    console.print(table)
    for note in summary.notes:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False, soft_wrap=True)
    for label, reason in summary.failed:
        console.print(
            f"[red]failed[/] {escape(label)}: {escape(reason)}", highlight=False, soft_wrap=True
        )
    _print_verdicts(summary.spec, summary.tracking_uri)
    console.print(f"results: dlvsml results {spec_path}   dashboard: dlvsml ui {spec_path}")


def _dry_run(spec: Any, workers: int, as_json: bool) -> None:
    """The plan of a spec: cells per dataset, sizes, models, skipped cells and why, and the
    time the budget allows (tuning seconds per cell, cells shared among the workers)."""
    from dlvsml.run.plan import plan_cells

    plan = plan_cells(spec)
    datasets: dict[str, dict[str, Any]] = {}
    for cell in plan.cells:
        entry = datasets.setdefault(cell.dataset, {"cells": 0, "sizes": set(), "models": set()})
        entry["cells"] += 1
        entry["sizes"].add(cell.train_size)
        entry["models"].add(cell.model)
    seconds = spec.budget.seconds
    estimate = len(plan.cells) * seconds / workers if seconds else None
    payload = {
        "spec": spec.name,
        "cells": len(plan.cells),
        "datasets": {
            name: {
                "cells": entry["cells"],
                "sizes": sorted(entry["sizes"]),
                "models": sorted(entry["models"]),
            }
            for name, entry in datasets.items()
        },
        "skipped": [{"cell": s.cell.label, "reason": s.reason} for s in plan.skipped],
        "budget": spec.budget.model_dump(),
        "workers": workers,
        "estimated_seconds": estimate,
    }
    if as_json:
        _print_json(payload)
        return
    table = Table("dataset", "cells", "sizes", "models", title=f"plan of {spec.name} (dry run)")
    for name, entry in payload["datasets"].items():
        sizes = ", ".join(f"{size:,}" for size in entry["sizes"])
        table.add_row(name, str(entry["cells"]), sizes, ", ".join(entry["models"]))
    console.print(table)
    for skipped in plan.skipped:
        console.print(
            f"[yellow]not run[/] {escape(skipped.cell.label)}: {escape(skipped.reason)}",
            highlight=False,
            soft_wrap=True,
        )
    if estimate is None:
        console.print(
            f"{len(plan.cells)} cells; no time estimate: the budget has no seconds "
            f"(budget: {{trials: {spec.budget.trials}, seconds: 60}} would bound each model)",
            highlight=False,
        )
    else:
        console.print(
            f"{len(plan.cells)} cells × {seconds:g} s of tuning / {workers} worker(s) ≈ "
            f"{estimate / 60:.1f} min, plus data loading and each cell's final fit and test",
            highlight=False,
        )


@app.command()
def results(
    spec_path: SpecArg,
    as_json: JsonFlag = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Show a spec's results as recorded in MLflow: one row per cell (columns that do not fit
    the terminal are left out whole; --json and --csv have them all)."""
    from dlvsml.analysis.listing import result_records, results_table
    from dlvsml.spec import load_spec
    from dlvsml.tracking import results_frame, tracking_uri

    spec = load_spec(spec_path)
    frame = results_frame(spec.name, tracking_uri(spec))
    if as_json:
        _print_json(result_records(frame))
        return
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
        return
    if frame.empty:
        console.print(f"no results for {spec.name!r} yet; run `dlvsml run {spec_path}`")
        return
    console.print(results_table(frame, console.width, title=f"results of {spec.name}"))


@app.command("tune-worker")
def tune_worker(
    spec_path: SpecArg,
    cell: Annotated[
        str, typer.Option(help="The cell: its key, or its label dataset/size/model/seed.")
    ],
    worker: Annotated[
        int, typer.Option(min=1, help="This worker's number (1, 2, ...; 0 is the suite's own).")
    ] = 1,
    optuna_storage: StorageOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Add a tuning worker to one cell's Optuna study (shared storage); the budget stays total."""
    import dataclasses

    from dlvsml.run.tune_worker import tune_worker as join_study

    report = join_study(_load_spec(spec_path, optuna_storage), cell, worker)
    if as_json:
        _print_json(dataclasses.asdict(report))
        return
    trials = ", ".join(f"{n} {state.lower()}" for state, n in report.trials_by_state.items())
    console.print(f"{report.cell} ({report.cell_key}): study done, {trials}", highlight=False)
    if report.reason:
        console.print(f"[red]{report.status}[/] {escape(report.reason)}", highlight=False)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def server(
    ctx: typer.Context,
    backend_store_uri: Annotated[
        str | None,
        typer.Option(
            help="Database of runs: sqlite:///mlflow.db (default, in this folder) or "
            "postgresql+psycopg://USER@HOST:5432/DB"
        ),
    ] = None,
    artifacts_destination: Annotated[
        Path, typer.Option(help="Folder the server stores uploaded artifacts in.")
    ] = Path("mlartifacts"),
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5000,
) -> None:
    """Run an MLflow tracking server that runs log to by URL (extra options go to mlflow)."""
    from dlvsml.tracking import server_command, server_environment

    backend = backend_store_uri or f"sqlite:///{Path.cwd() / 'mlflow.db'}"
    command = server_command(
        backend, str(artifacts_destination.resolve()), host, port, extra=ctx.args
    )
    address = f"http://{host}:{port}"
    _serve(
        command,
        server_environment(),
        address,
        f"MLflow tracking server for {backend}: export MLFLOW_TRACKING_URI={address}",
    )


def _serve(command: list[str], env: dict[str, str], address: str, message: str) -> None:
    """Serve in the foreground; print ``message`` once the server answers; Ctrl-C, SIGTERM or
    SIGHUP stop its whole process group."""
    from dlvsml.dashboard import serve

    def announce() -> None:
        console.print(message, soft_wrap=True, highlight=False)

    err_console.print(f"starting MLflow at {address} ...", highlight=False)
    code = serve(command, env, address.replace("0.0.0.0", "127.0.0.1"), announce)
    if code is None:  # stopped by a signal, the server's group already gone: leave at once
        # (tearing down ~3,000 imported modules takes seconds on a busy machine)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    if code:
        raise typer.Exit(code)


def _load_spec(path: Path, optuna_storage: str | None) -> Any:
    """The spec at ``path``, its Optuna storage replaced when ``--optuna-storage`` is given."""
    from dlvsml.spec import load_spec

    spec = load_spec(path)
    return spec.model_copy(update={"optuna_storage": optuna_storage}) if optuna_storage else spec


@app.command()
def ui(
    spec_path: Annotated[
        Path | None, typer.Argument(help="Spec whose experiment to open (optional).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind (loopback by default).")] = (
        "127.0.0.1"
    ),
) -> None:
    """Open the MLflow dashboard of the project's store (Ctrl-C stops it): a spec's cell runs
    with their dataset, size, model, family, seed, test metric and tuning time."""
    from dlvsml.dashboard import VIEW_KEY, runs_url, runs_view
    from dlvsml.spec import load_spec
    from dlvsml.tracking import (
        results_frame,
        save_view,
        server_environment,
        tracking_uri,
        ui_command,
    )

    spec = load_spec(spec_path) if spec_path else None
    uri = tracking_uri(spec)
    experiment, view = None, None
    if spec:
        frame = results_frame(spec.name, uri)
        metrics = sorted({f"test_{m}" for m in frame["metric"].dropna()}) if len(frame) else []
        experiment = save_view(spec.name, uri, VIEW_KEY, runs_view(metrics))
        view = VIEW_KEY if experiment else None
    url = runs_url(host, port, experiment, view)
    address = url.split("/#")[0]
    _serve(
        ui_command(uri, host, port), server_environment(), address, f"MLflow UI for {uri}: {url}"
    )


@app.command()
def report(
    spec_path: SpecArg,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for index.html (default reports/<spec>).")
    ] = None,
    as_json: JsonFlag = False,
    bootstrap: Annotated[
        int, typer.Option(min=0, help="Bootstrap resamples for crossover intervals.")
    ] = 1000,
) -> None:
    """Turn a spec's runs into evidence: learning curves, crossovers, tests, costs, claims."""
    from dlvsml.analysis import build_report, report_numbers
    from dlvsml.errors import DlvsmlError
    from dlvsml.spec import load_spec
    from dlvsml.tracking import log_report, results_frame, tracking_uri

    spec = load_spec(spec_path)
    uri = tracking_uri(spec)
    frame = results_frame(spec.name, uri)
    if frame.empty:
        raise DlvsmlError(f"no results for {spec.name!r} in {uri}; run `dlvsml run {spec_path}`")
    if as_json:
        _print_json(report_numbers(frame, n_boot=bootstrap))
        return
    from dlvsml.data import dataset_tables
    from dlvsml.recommender.evaluate import recommender_check

    page = build_report(
        frame,
        spec.name,
        out or Path("reports") / spec.name,
        n_boot=bootstrap,
        evaluation=recommender_check(frame, spec.name),
        tables=dataset_tables(spec.datasets),
    )
    log_report(spec.name, uri, page.parent)
    _print_verdicts(spec.name, uri)
    console.print(f"report: {page}", soft_wrap=True)


def _print_verdicts(spec_name: str, uri: str) -> None:
    """The report's headline in the terminal: one verdict row per dataset, one line per modality."""
    from dlvsml.analysis import display_rows, modality_sentences, tidy, verdicts
    from dlvsml.analysis.verdicts import DISPLAY_COLUMNS
    from dlvsml.tracking import results_frame

    table = verdicts(tidy(results_frame(spec_name, uri)))
    if table.empty:
        return
    view = Table(*DISPLAY_COLUMNS.values(), title="the answer, per dataset")
    for row in display_rows(table):
        view.add_row(*(escape(row[key]) for key in DISPLAY_COLUMNS))
    console.print(view)
    for sentence in modality_sentences(table):
        console.print(escape(sentence), highlight=False, soft_wrap=True)


def _register_recommend() -> None:
    from dlvsml.cli_recommend import recommend

    app.command("recommend")(recommend)


_register_recommend()


def _print_mapping(mapping: dict[str, Any], title: str) -> None:
    table = Table("field", "value", title=title, show_header=False)
    for key, value in mapping.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    console.print(table)


def main() -> None:
    """Console-script entry point: user errors become one line and exit code 2."""
    # Not standalone: typer would print usage errors as a boxed screen and end Ctrl-C silently;
    # here every user error is one line, and Ctrl-C (exit 130) says how to resume.
    try:
        code = app(standalone_mode=False)
    except DlvsmlError as exc:
        _error_line(str(exc))
        raise SystemExit(2) from None
    except click_errors.NoArgsIsHelpError as exc:
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "dlvsml"
        _error_line(f"{exc.format_message()} (see `{where} --help`)")
        raise SystemExit(2) from None
    except click_errors.ClickException as exc:
        _error_line(exc.format_message())
        raise SystemExit(exc.exit_code) from None
    except (KeyboardInterrupt, typer.Abort):
        code = 130
    if code == 130:  # typer's exit code for Ctrl-C
        err_console.print("interrupted; re-run the same command to resume where it stopped")
    raise SystemExit(code if isinstance(code, int) else 0)


def _error_line(message: str) -> None:
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)


if __name__ == "__main__":
    main()
