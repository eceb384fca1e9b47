"""The `dlvsml` command line: thin wrappers that parse, call one function and print.

A `DlvsmlError` prints as one line on stderr and exits 2; any other exception is a bug (exit 1).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

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
) -> None:
    """Run a spec's cells (tuned, tested, logged to MLflow); re-run to resume where it stopped."""
    from dlvsml.executors import ExecutorOptions
    from dlvsml.runner import run_spec

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
    console.print(f"results: dlvsml results {spec_path}   dashboard: dlvsml ui {spec_path}")


@app.command()
def results(
    spec_path: SpecArg,
    as_json: JsonFlag = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV.")] = False,
) -> None:
    """Show a spec's results as recorded in MLflow: one row per cell."""
    from dlvsml.spec import load_spec
    from dlvsml.tracking import results_frame, tracking_uri

    spec = load_spec(spec_path)
    frame = results_frame(spec.name, tracking_uri(spec))
    if as_json:
        sys.stdout.write((frame.to_json(orient="records", indent=2) if len(frame) else "[]") + "\n")
        return
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
        return
    if frame.empty:
        console.print(f"no results for {spec.name!r} yet; run `dlvsml run {spec_path}`")
        return
    metric = "test_" + frame["metric"].dropna().iloc[0] if frame["metric"].notna().any() else None
    columns = ["dataset", "train_size", "model", "seed", "status"]
    columns += [c for c in (metric, "validation_score", "tuning_seconds") if c in frame]
    table = Table(*columns, title=f"results of {spec.name}")
    for row in frame[columns].itertuples(index=False):
        table.add_row(*(f"{v:.4g}" if isinstance(v, float) else str(v) for v in row))
    console.print(table)


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

    from dlvsml.study_worker import tune_worker as join_study

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
    console.print(
        f"MLflow tracking server for {backend}: export MLFLOW_TRACKING_URI=http://{host}:{port}",
        soft_wrap=True,
        highlight=False,
    )
    _serve(command, server_environment())


def _serve(command: list[str], env: dict[str, str]) -> None:
    """Run a server in the foreground until it exits, or Ctrl-C or SIGTERM stops it."""
    import signal
    import subprocess

    sys.stdout.flush()
    with subprocess.Popen(command, env=env) as process:
        signal.signal(signal.SIGTERM, lambda *_: process.terminate())
        try:
            process.wait()
        except KeyboardInterrupt:
            process.terminate()
            process.wait()


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
    """Open the MLflow dashboard of the project's store (Ctrl-C stops it)."""
    import subprocess

    from dlvsml.spec import load_spec
    from dlvsml.tracking import experiment_id, runs_url, tracking_uri, ui_command

    spec = load_spec(spec_path) if spec_path else None
    uri = tracking_uri(spec)
    experiment = experiment_id(spec.name, uri) if spec else None
    console.print(f"MLflow UI for {uri}: {runs_url(host, port, experiment)}", soft_wrap=True)
    sys.stdout.flush()
    with subprocess.Popen(ui_command(uri, host, port)) as server:
        try:
            server.wait()
        except KeyboardInterrupt:
            server.terminate()
            server.wait()


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
    console.print(f"report: {page}", soft_wrap=True)


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
