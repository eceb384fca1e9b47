"""What every benchmark shares: paths, machine facts, timing, and writing results.

A benchmark is a module ``benchmarks/<name>.py`` with ``run(repeats: int) -> Result`` and a
``main()`` that parses ``--repeats`` and calls `write`. `benchmarks/run.py` runs them all.
Results go to ``benchmarks/results/<name>.json`` (every number) and ``<name>.md`` (a table a
person reads); nothing here asserts a time, it only measures.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
RESULTS = ROOT / "benchmarks" / "results"


@dataclass
class Result:
    """One benchmark's outcome: rows of measurements and how to read them."""

    name: str  # file stem under benchmarks/results/
    title: str
    rows: list[dict[str, Any]]
    columns: list[tuple[str, str]]  # (row key, column header) for the Markdown table
    notes: list[str] = field(default_factory=list)  # paragraphs under the table
    headline: str = ""  # one line for benchmarks/results/README.md
    meta: dict[str, Any] = field(default_factory=dict)  # benchmark-specific settings


def machine() -> dict[str, Any]:
    """Facts that make a figure comparable: CPU, cores, library versions, GPU or not."""
    facts: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cores": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    for package in ("dlvsml", "torch", "xgboost", "lightgbm", "sklearn", "optuna", "mlflow"):
        try:
            module = __import__(package)
            facts[package] = getattr(module, "__version__", "?")
        except ImportError:
            facts[package] = None
    try:
        import torch

        facts["gpu"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        facts["gpu"] = None
    return facts


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def clocks() -> tuple[float, float]:
    """(wall, this process's CPU) seconds, for `elapsed`."""
    return time.perf_counter(), time.process_time()


def elapsed(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def interleaved(
    runs: dict[str, Callable[[], Any]], repeats: int, warmup: bool = True
) -> dict[str, list[float]]:
    """Wall seconds of each run, repeated round-robin so drifting load hits all of them alike."""
    if warmup:
        for run in runs.values():
            run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - start)
    return seconds


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


def python_in_fresh_process(code: str, env: dict[str, str] | None = None) -> str:
    """Run ``code`` in a new interpreter (cold imports, cold caches); return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"fresh process failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


def markdown(result: Result, facts: dict[str, Any]) -> str:
    """The result as a Markdown section: title, machine line, table, notes."""
    gpu = facts.get("gpu") or "none (CPU only; GPU paths not measured here)"
    lines = [
        f"# {result.title}",
        "",
        f"Machine: {facts['processor']}, {facts['cores']} cores, GPU: {gpu}; "
        f"torch {facts.get('torch')}, xgboost {facts.get('xgboost')}, "
        f"mlflow {facts.get('mlflow')}, optuna {facts.get('optuna')}; "
        f"measured {facts['measured_at']} (1-min load {facts['load_average_1min']} before).",
        "",
        "| " + " | ".join(header for _, header in result.columns) + " |",
        "|" + "---|" * len(result.columns),
    ]
    for row in result.rows:
        lines.append("| " + " | ".join(_cell(row.get(key)) for key, _ in result.columns) + " |")
    if result.notes:
        lines += ["", *[line for note in result.notes for line in (note, "")]]
    return "\n".join(lines).rstrip() + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def write(result: Result, out: Path = RESULTS) -> str:
    """Write ``<name>.json`` and ``<name>.md`` under ``out``; return the Markdown."""
    facts = machine()
    out.mkdir(parents=True, exist_ok=True)
    payload = {"machine": facts, **asdict(result)}
    (out / f"{result.name}.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    text = markdown(result, facts)
    (out / f"{result.name}.md").write_text(text)
    return text


def cli(run: Callable[[int], Result], default_repeats: int = 5) -> None:
    """The ``main()`` of a benchmark module: ``--repeats N [--out DIR]``, then print the table."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=default_repeats)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    print(write(run(args.repeats), args.out))
