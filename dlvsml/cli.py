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
    """Load a dataset and show what dlvsml sees: modality, task, size, classes, fingerprint."""
    from dlvsml.data import load_dataset

    summary = load_dataset(uri).summary()
    if as_json:
        _print_json(summary)
        return
    _print_mapping(summary, title=summary["name"])


@app.command()
def profile(uri: UriArg, as_json: JsonFlag = False) -> None:
    """Profile a dataset: the meta-features the recommender reasons with."""
    from dlvsml.data import load_dataset, profile_dataset

    facts = profile_dataset(load_dataset(uri))
    if as_json:
        _print_json(facts)
        return
    _print_mapping(facts, title=f"profile of {uri}")


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
    as_json: JsonFlag = False,
) -> None:
    """Run a spec's cells (tuned, tested, logged to MLflow); re-run to resume where it stopped."""
    from dlvsml.runner import run_spec
    from dlvsml.spec import load_spec

    summary = run_spec(load_spec(spec_path), workers=workers, progress=not as_json)
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


def _print_mapping(mapping: dict[str, Any], title: str) -> None:
    table = Table("field", "value", title=title, show_header=False)
    for key, value in mapping.items():
        shown = f"{value:.4g}" if isinstance(value, float) else str(value)
        table.add_row(key, shown)
    console.print(table)


def main() -> None:
    """Console-script entry point: user errors become one line and exit code 2."""
    try:
        app()
    except DlvsmlError as exc:
        err_console.print(
            f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        raise SystemExit(2) from None
    except KeyboardInterrupt:
        err_console.print("interrupted; re-run the same command to resume where it stopped")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
