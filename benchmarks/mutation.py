"""Mutation testing of the modules whose bugs change a verdict (mutmut; not part of CI).

mutmut 3 was chosen over cosmic-ray because it forks per mutant from one process that has already
imported the code and the tests, and runs only the tests that reach the mutated function: on a
shared 2-core machine with pandas/scikit-learn imports of seconds, cosmic-ray's fresh test process
per mutant would cost an order of magnitude more.

Each module is mutated in a scratch copy of the repository (mutmut writes a ``mutants/`` folder
beside the code), against the fast unit tests that cover it. Survivors listed in ``EQUIVALENT``
are mutants no test can kill (the behaviour is the same); they are excluded from the score with
the reason given. The summary goes to ``benchmarks/results/mutation.md``.

Usage (slow: minutes per module; keep it nice'd on a shared machine)::

    nice -n 10 .venv/bin/python benchmarks/mutation.py                      # every module
    nice -n 10 .venv/bin/python benchmarks/mutation.py dlvsml/analysis/crossover.py
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT = REPO / "benchmarks" / "results" / "mutation.md"
UNIT = "tests/unit/"

# Module -> the fast unit tests that check its behaviour.
MODULES: dict[str, list[str]] = {
    "dlvsml/analysis/crossover.py": [
        "test_analysis_crossover.py",
        "test_analysis_known_answers.py",
    ],
    "dlvsml/analysis/curves.py": ["test_analysis_curves.py", "test_analysis_known_answers.py"],
    "dlvsml/analysis/stats.py": ["test_analysis_stats.py"],
    "dlvsml/analysis/claims.py": ["test_analysis_claims.py"],
    "dlvsml/data/splits.py": ["test_splits.py"],
    "dlvsml/metrics.py": ["test_metrics.py"],
    "dlvsml/recommend/engine.py": ["test_recommend_engine.py", "test_recommend_rules.py"],
    "dlvsml/recommend/evidence.py": ["test_recommend_evidence.py"],
    "dlvsml/recommend/evaluate.py": ["test_recommend_evaluate.py"],
    "dlvsml/tuning.py": ["test_tuning.py"],
}

# Surviving mutants that behave exactly like the original: name -> why no test can tell.
EQUIVALENT: dict[str, str] = {}

KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def run_module(module: str, tests: list[str], children: int) -> dict[str, str]:
    """Mutate ``module`` in a scratch copy and return each mutant's status."""
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        work = Path(scratch)
        shutil.copytree(
            REPO / "dlvsml", work / "dlvsml", ignore=shutil.ignore_patterns("__pycache__")
        )
        shutil.copytree(
            REPO / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__")
        )
        selection = ", ".join(f'"{UNIT}{name}"' for name in tests)
        config = (REPO / "pyproject.toml").read_text() + (
            "\n[tool.mutmut]\n"
            'source_paths = ["dlvsml"]\n'
            f'only_mutate = ["{module}"]\n'
            f"pytest_add_cli_args_test_selection = [{selection}]\n"
            'pytest_add_cli_args = ["-p", "no:randomly", "-p", "no:cacheprovider", "-q"]\n'
        )
        (work / "pyproject.toml").write_text(config)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the mutants, not ours
        mutmut = str(Path(sys.executable).parent / "mutmut")
        subprocess.run(
            [mutmut, "run", "--max-children", str(children)], cwd=work, env=env, check=False
        )
        listing = subprocess.run(
            [mutmut, "results", "--all", "true"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        statuses = dict(re.findall(r"^\s+(\S+): (.+)$", listing, flags=re.MULTILINE))
        diffs = {}
        for name, status in statuses.items():
            if status not in KILLED:
                shown = subprocess.run(
                    [mutmut, "show", name], cwd=work, env=env, capture_output=True, text=True
                ).stdout
                diffs[name] = _changed_lines(shown)
        return {name: f"{status}\t{diffs.get(name, '')}" for name, status in statuses.items()}


def _changed_lines(diff: str) -> str:
    """The mutated line(s) of a unified diff, before → after, on one line."""
    minus = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("-") and not line.startswith("---")
    ]
    plus = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    return f"`{' / '.join(minus)}` → `{' / '.join(plus)}`"


def summarise(module: str, statuses: dict[str, str], command: str) -> tuple[list[str], float]:
    """Markdown lines for one module and its score (killed / viable)."""
    status = {name: value.split("\t")[0] for name, value in statuses.items()}
    equivalent = [name for name in status if name in EQUIVALENT and status[name] not in KILLED]
    viable = [name for name in status if name not in equivalent]
    killed = [name for name in viable if status[name] in KILLED]
    score = len(killed) / len(viable) if viable else 1.0
    lines = [
        f"## `{module}`: {len(killed)}/{len(viable)} viable mutants killed ({score:.0%}); "
        f"{len(equivalent)} equivalent",
        "",
        f"`{command}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
    ]
    survivors = [name for name in viable if status[name] not in KILLED]
    if survivors:
        lines += ["Surviving:", ""]
        lines += [
            f"- `{name}` ({status[name]}): {statuses[name].split(chr(9))[1]}" for name in survivors
        ]
        lines.append("")
    if equivalent:
        lines += ["Equivalent (excluded):", ""]
        lines += [f"- `{name}`: {EQUIVALENT[name]}" for name in equivalent]
        lines.append("")
    return lines, score


def _sections(text: str) -> dict[str, str]:
    """The per-module sections of an earlier result file, by module."""
    parts = re.split(r"^(?=## `)", text, flags=re.MULTILINE)[1:]
    return {re.match(r"## `([^`]+)`", part).group(1): part.rstrip("\n") + "\n" for part in parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="default: all")
    parser.add_argument("--children", type=int, default=2, help="parallel mutants (default 2)")
    args = parser.parse_args()
    command = "nice -n 10 .venv/bin/python benchmarks/mutation.py"
    sections = [
        "# Mutation testing",
        "",
        f"Made by `{command} [MODULE ...]` (mutmut; see the script's docstring for why and how);",
        "each section names the command and time that made it.",
        "Score = killed / (all − equivalent). Sections of modules not run this time are kept.",
        "",
    ]
    kept = _sections(RESULT.read_text()) if RESULT.exists() else {}
    for module in args.modules:
        statuses = run_module(module, MODULES[module], args.children)
        lines, _ = summarise(module, statuses, f"{command} {module}")
        print(lines[0], flush=True)
        kept[module] = "\n".join(lines)
    sections += [kept[module] for module in MODULES if module in kept]
    RESULT.write_text("\n".join(sections) + "\n")
    print(f"wrote {RESULT.relative_to(REPO)}")


if __name__ == "__main__":
    main()
