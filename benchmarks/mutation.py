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
import ast
import difflib
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
    "dlvsml/recommender/engine.py": ["test_recommend_engine.py", "test_recommend_rules.py"],
    "dlvsml/recommender/evidence.py": ["test_recommend_evidence.py"],
    "dlvsml/recommender/evaluate.py": ["test_recommend_evaluate.py"],
    "dlvsml/tuning.py": ["test_tuning.py"],
}

# Surviving mutants that behave exactly like the original: name -> why no test can tell.
_CROSSOVER = "dlvsml.analysis.crossover."
EQUIVALENT: dict[str, str] = {
    _CROSSOVER + "x_crossover__mutmut_1": "n_boot default 1001: another resample count, "
    "the interval moves within Monte Carlo error",
    _CROSSOVER + "x_crossover__mutmut_2": "default seed 1: another fixed seed, as reproducible",
    _CROSSOVER + "x_crossovers__mutmut_1": "n_boot default 1001: another resample count, "
    "the interval moves within Monte Carlo error",
    _CROSSOVER + "x_crossovers__mutmut_2": "default seed 1: another fixed seed, as reproducible",
    _CROSSOVER + "x_crossover_summary__mutmut_10": "astype(None) is astype('float64') in pandas",
    _CROSSOVER + "x_extrapolated_crossing__mutmut_67": "differs only if the neural curve passes "
    "a score of 1 between the two grid sizes at the crossing",
    _CROSSOVER + "x_gap_matrix__mutmut_44": "dropna(how='all') without axis: axis=0 is the default",
    _CROSSOVER + "x_gap_matrix__mutmut_56": "to_numpy(None): sizes stay numeric and every "
    "consumer converts them to float",
    _CROSSOVER + "x_gap_matrix__mutmut_57": "to_numpy(None): the gap frame is float already",
    _CROSSOVER + "x_trend__mutmut_13": "<= 1e-4: differs only for a slope of exactly 1e-4",
    _CROSSOVER + "x_trend__mutmut_26": "slope >= 0: a zero slope has already returned 'flat'",
    _CROSSOVER + "x_extrapolated_crossing__mutmut_1": "factor 101: differs only for a crossing "
    "between 100 and 101 times the largest size",
    _CROSSOVER
    + "x_extrapolated_crossing__mutmut_30": "to_numpy(None): fit_curve converts to float",
    _CROSSOVER
    + "x_extrapolated_crossing__mutmut_31": "to_numpy(None): fit_curve converts to float",
    _CROSSOVER + "x_extrapolated_crossing__mutmut_34": "r2 <= 0.8: differs only at exactly 0.8",
    _CROSSOVER + "x_extrapolated_crossing__mutmut_48": "401 grid sizes: the same crossing within "
    "the grid's 1 % resolution",
    _CROSSOVER + "x_extrapolated_crossing__mutmut_59": ">= 0: differs only on an exact tie",
    _CROSSOVER
    + "x_extrapolated_crossing__mutmut_68": ">= 1.0: differs only at a score of exactly 1",
    _CROSSOVER + "x__bootstrap__mutmut_7": "rng.integers(n) draws from [0, n), as integers(0, n)",
    _CROSSOVER + "x__bootstrap__mutmut_14": "ignoring every warning category in a block whose "
    "only warning is the RuntimeWarning",
    _CROSSOVER + "x__bootstrap__mutmut_16": "ignoring every warning category in a block whose "
    "only warning is the RuntimeWarning",
    _CROSSOVER + "x_crossover_summary__mutmut_3": "groupby(sort=None): sorts, like the default",
    _CROSSOVER + "x_crossover_summary__mutmut_5": "groupby without sort: sort=True is the default",
}

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
        functions = _functions((work / "mutants" / module).read_text())
        return {
            name: f"{status}\t{'' if status in KILLED else _change(functions, name)}"
            for name, status in statuses.items()
        }


def _functions(source: str) -> dict[str, list[str]]:
    """Source lines of every function of a mutmut-mutated file, by name."""
    tree = ast.parse(source)
    return {  # the name left out, so that a changed default in the signature shows
        node.name: ast.get_source_segment(source, node).replace(node.name, "", 1).splitlines()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _change(functions: dict[str, list[str]], mutant: str) -> str:
    """What the mutant changed, before → after (mutmut keeps each one as a function)."""
    name = mutant.rsplit(".", 1)[-1]
    original = functions.get(name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", [])
    lines = list(difflib.ndiff(original, functions.get(name, [])))
    before = " / ".join(line[2:].strip() for line in lines if line.startswith("- "))
    after = " / ".join(line[2:].strip() for line in lines if line.startswith("+ "))
    return f"`{before}` → `{after}`"


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
