"""Regenerate every benchmark figure: ``python benchmarks/run.py [--quick] [--only NAME ...]``.

Each benchmark runs in its own Python process (cold imports, its own thread settings), one after
another so they do not share the cores, and writes ``benchmarks/results/<name>.{json,md}``; this
script then writes ``benchmarks/results/README.md``, the index with each benchmark's headline.
``--quick`` runs one repeat of each (a smoke test of the scripts, not figures to quote).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

# name -> repeats for the published figures (about 25 minutes in all on 2 CPU cores).
BENCHMARKS = {
    "harness_overhead": 5,
    "trainer_throughput": 5,
    "tuning_efficiency": 3,
    "data_path": 3,
    "suite_throughput": 2,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--quick", action="store_true", help="one repeat each (smoke test)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    names = args.only or list(BENCHMARKS)
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_DISABLE_TELEMETRY": "true"}
    failed = []
    for name in names:
        repeats = 1 if args.quick else BENCHMARKS[name]
        print(f"== {name} ({repeats} repeat(s))", flush=True)
        start = time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", f"benchmarks.{name}", "--repeats", str(repeats), "--out",
             str(args.out)],
            cwd=ROOT,
            env=environment,
            check=False,
        )  # fmt: skip
        print(f"== {name}: exit {completed.returncode} in {time.perf_counter() - start:.0f} s")
        if completed.returncode:
            failed.append(name)
    write_index(args.out)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


def write_index(out: Path) -> None:
    """``README.md``: one line per benchmark with its headline and when it was measured."""
    lines = [
        "# Benchmark results",
        "",
        "Regenerate with `python benchmarks/run.py` (all) or "
        "`python benchmarks/run.py --only NAME`; each NAME.md has the table, NAME.json every "
        "sample. Medians over repeats; ratios are measured side by side in one run.",
        "",
        "| benchmark | headline | measured | machine |",
        "|---|---|---|---|",
    ]
    for name in BENCHMARKS:
        path = out / f"{name}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        facts = data.get("machine", {})
        gpu = facts.get("gpu") or "no GPU"
        machine = f"{facts.get('cores')} cores, {gpu}"
        headline = data.get("headline") or data.get("title", name)
        measured = facts.get("measured_at")
        lines.append(f"| [{name}]({name}.md) | {headline} | {measured} | {machine} |")
    lines += [
        "",
        "No GPU was available where these were measured: the CUDA paths (mixed precision, data "
        "on the device, XGBoost `device=cuda`) are exercised by the code but not timed here.",
    ]
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
