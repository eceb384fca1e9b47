"""Tuning efficiency: epochs and time to reach the same best validation score, pruned or not.

For a few neural models on small real data, the same Optuna study (same cell seed, same trial
budget, sqlite storage in a temporary folder, unique study names) runs twice through
`dlvsml.tuning.tune`: once with the pruner neural models get by default
(``dlvsml.tuning.PRUNERS["neural"]``, the median rule on per-epoch validation scores) and once
with that registry entry swapped for `optuna.pruners.NopPruner`. The two runs of a seed are
paired: TPE's start-up trials (the defaults, then random ones up to ``budget // 2``) propose the
same parameters in both, and so do later ones while both studies agree on which trials are best
(TPE models only the top 10 %, one trial in a small study), so they train the same nets and differ
only in where pruning stops them.

Measured per run: epochs trained (validation scores reported to the trial; a pruned trial counts
the epochs it ran), wall and process-CPU seconds of the whole study, the best validation score
(the cell metric, balanced accuracy), how many trials were pruned, and the key figure: the epochs
and seconds each run needed until its best-so-far score first reached the **target**, defined
per seed as the lower of the two runs' final best scores (so both runs reach it, and a run that
finds a better model sooner is credited). Seconds to target are clocks read in `tune`'s
per-trial callback, so they include sampler, storage and pruning overhead.

Evidence about the pruner itself: pruned trials whose parameters the unpruned run also trained
are looked up there (did pruning stop a trial that would have finished above the median, or the
eventual best?), and the unpruned runs' full epoch curves are replayed through candidate pruning
rules offline (which trials each rule would stop, epochs saved, best score kept).

Run: ``python benchmarks/tuning_efficiency.py [--repeats 3]``: about 3 minutes of CPU time (one
thread; wall about that on a quiet 2-core machine, 6 minutes with the cores shared).
Writes ``benchmarks/results/tuning_efficiency.{json,md}``.
"""

from __future__ import annotations

import math
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState

if __package__ in (None, ""):  # run as a script: make the `benchmarks` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._common import SHARED_DATA, Result, cli, clocks, median
from dlvsml import records, stores, tuning
from dlvsml.data import load_dataset, train_validation_split
from dlvsml.data.dataset import Dataset
from dlvsml.metrics import direction, resolve_metric
from dlvsml.models import ModelContext, get_model
from dlvsml.run.resources import limit_threads
from dlvsml.spec import Budget

N_THREADS = 1  # one intra-op thread per fit, as a cell on a busy 2-core machine gets
VALIDATION_FRACTION = 0.2


@dataclass(frozen=True)
class Workload:
    """One model on a (subsampled) dataset with its own trial budget."""

    model: str
    uri: str
    rows: int  # train + validation rows, drawn per seed
    trials: int
    fallback: str | None = None  # used when the shared data are not there

    def label(self, dataset: Dataset) -> str:
        return f"{self.model} on {dataset.name} ({min(self.rows, dataset.n_rows)} rows)"


WORKLOADS = (
    Workload(
        "mlp",
        f"file:{SHARED_DATA / 'tabular' / 'magic_gamma_telescope.parquet'}?target=target",
        rows=600,
        trials=10,
        fallback="builtin:breast_cancer",
    ),
    Workload("cnn", "builtin:digits", rows=400, trials=10),
    Workload(
        "fasttext",
        f"textcsv:{SHARED_DATA / 'text' / 'trec_questions.csv.gz'}?text=text&label=label",
        rows=800,
        trials=12,
    ),
)


@dataclass
class TrialTrace:
    number: int
    state: str
    params: dict[str, Any]
    value: float | None  # cell metric on validation (COMPLETE trials only)
    curve: dict[int, float]  # epoch -> validation score the trainer reported
    wall: float  # clocks since the study started, read when the trial finished
    cpu: float

    @property
    def epochs(self) -> int:
        return len(self.curve)


@dataclass
class StudyRun:
    variant: str  # pruned | unpruned
    trials: list[TrialTrace]
    wall: float
    cpu: float
    best: float
    sign: float  # +1 when the metric is maximised

    @property
    def epochs(self) -> int:
        return sum(t.epochs for t in self.trials)

    def n(self, state: str) -> int:
        return sum(t.state == state for t in self.trials)

    def to_target(self, target: float) -> tuple[int, float, float, int]:
        """(epochs, wall, CPU, trial number) until the best-so-far score first reaches
        ``target``."""
        epochs = 0
        for trial in self.trials:
            epochs += trial.epochs
            if trial.value is not None and self.sign * (trial.value - target) >= -1e-12:
                return epochs, trial.wall, trial.cpu, trial.number
        raise AssertionError("the target is one of the runs' best scores, so it is reached")

    def best_within(self, epochs: int) -> float:
        """The best score of the trials that finished within the first ``epochs`` epochs."""
        spent, found = 0, math.nan
        for trial in self.trials:
            spent += trial.epochs
            if spent > epochs:
                break
            if trial.value is not None and not self.sign * (trial.value - found) <= 0:
                found = trial.value
        return found


@contextmanager
def neural_pruner(factory: Callable[[], optuna.pruners.BasePruner]) -> Iterator[None]:
    """Swap the pruner neural models get (`dlvsml.tuning.PRUNERS` is a registry for this)."""
    previous = tuning.PRUNERS["neural"]
    tuning.PRUNERS["neural"] = factory
    try:
        yield
    finally:
        tuning.PRUNERS["neural"] = previous


def load(workload: Workload) -> Dataset:
    try:
        return load_dataset(workload.uri)
    except Exception:
        if workload.fallback is None:
            raise
        return load_dataset(workload.fallback)


def cell(dataset: Dataset, rows: int, seed: int) -> tuple[ModelContext, records.CellData]:
    """A cell as `dlvsml.run.cell` slices one: a seeded subsample, split train/validation."""
    rng = np.random.default_rng(seed)
    subsample = np.sort(rng.permutation(dataset.n_rows)[: min(rows, dataset.n_rows)])
    train_pos, val_pos = train_validation_split(
        dataset.y[subsample], dataset.task, VALIDATION_FRACTION, seed
    )
    X_train, y_train = dataset.take(subsample[train_pos])
    X_val, y_val = dataset.take(subsample[val_pos])
    context = ModelContext.for_dataset(
        dataset,
        seed=seed,
        device="cpu",
        n_threads=N_THREADS,
        train_size=len(train_pos),
    )
    return context, records.CellData(X_train, y_train, X_val, y_val)


def run_study(
    workload: Workload,
    dataset: Dataset,
    seed: int,
    variant: str,
    storage: str,
) -> StudyRun:
    context, data = cell(dataset, workload.rows, seed)
    metric = resolve_metric("auto", dataset.task)
    name = f"{workload.model}-{variant}-seed{seed}-{uuid.uuid4().hex[:8]}"
    finished: dict[int, tuple[float, float]] = {}
    start = clocks()

    def on_trial(number: int, best: float | None) -> None:
        wall, cpu = clocks()
        finished[number] = (wall - start[0], cpu - start[1])

    factory = tuning.PRUNERS["neural"] if variant == "pruned" else optuna.pruners.NopPruner
    with neural_pruner(factory):
        outcome = tuning.tune(
            name,
            get_model(workload.model),
            context,
            data,
            metric=metric,
            budget=Budget(trials=workload.trials),
            storage=storage,
            on_trial=on_trial,
        )
    wall, cpu = clocks()
    study = optuna.load_study(study_name=name, storage=stores.open_storage(storage))
    traces = [
        TrialTrace(
            number=t.number,
            state=t.state.name,
            params=dict(t.params),
            value=t.value if t.state == TrialState.COMPLETE else None,
            curve=dict(t.intermediate_values),
            wall=finished.get(t.number, (math.nan, math.nan))[0],
            cpu=finished.get(t.number, (math.nan, math.nan))[1],
        )
        for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
    ]
    sign = 1.0 if direction(metric) == "maximize" else -1.0
    return StudyRun(
        variant, traces, wall - start[0], cpu - start[1], outcome.validation_score, sign
    )


def warm_up(workload: Workload, dataset: Dataset) -> None:
    """One short fit of the defaults, so imports and first-call costs hit neither variant."""
    context, data = cell(dataset, min(workload.rows, 200), 0)
    model = get_model(workload.model)
    estimator = model.build({**model.defaults, "max_epochs": 2}, context)
    estimator.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val))


# ---- evidence about the pruner ----------------------------------------------------------------


def lost_trials(pruned: StudyRun, unpruned: StudyRun) -> dict[str, int]:
    """Pruned trials whose parameters the unpruned run trained to the end: how good were they?"""
    finals = {_key(t.params): t.value for t in unpruned.trials if t.value is not None}
    best = _best(unpruned)
    if best is None:
        return {"matched": 0, "above_median": 0, "best": 0}
    middle = float(np.median(list(finals.values())))
    pruned_params = [_key(t.params) for t in pruned.trials if t.state == "PRUNED"]
    matched = [key for key in pruned_params if finals.get(key) is not None]
    return {
        "matched": len(matched),
        "above_median": sum(unpruned.sign * (finals[key] - middle) > 0 for key in matched),
        "best": int(_key(best.params) in matched),
    }


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in params.items()))


Rule = Callable[[dict[int, float], list[dict[int, float]], int], bool]


def median_rule(startup: int, warmup: int, best_so_far: bool, percentile: float = 50) -> Rule:
    """The median rule: prune at ``step`` when the trial's score (its current one, or its best
    so far as Optuna's MedianPruner does) is below the median (or another percentile) of
    completed trials' scores at ``step``."""

    def prune(curve: dict[int, float], completed: list[dict[int, float]], step: int) -> bool:
        if step < warmup:
            return False
        others = [c[step] for c in completed if step in c]
        if len(others) < startup:
            return False
        if best_so_far:
            value = float(np.nanmax([v for s, v in curve.items() if s <= step]))
        else:
            value = curve[step]
        return math.isnan(value) or value < float(np.nanpercentile(others, percentile))

    return prune


RULES: dict[str, Rule] = {
    "epoch score, startup 2, warmup 2 (until 2026-11)": median_rule(2, 2, best_so_far=False),
    "epoch score, warmup 5": median_rule(2, 5, best_so_far=False),
    "best so far (Optuna MedianPruner)": median_rule(2, 2, best_so_far=True),
    "best so far, startup 3, warmup 5 (dlvsml now)": median_rule(3, 5, best_so_far=True),
    "best so far, below 25th percentile": median_rule(2, 2, best_so_far=True, percentile=25),
}


def replay(run: StudyRun, rule: Rule) -> dict[str, float]:
    """Run an unpruned study's trials (in order, full curves known) through ``rule``.

    Approximate: a real pruned study would let TPE sample other trials after the first prune."""
    completed: list[dict[int, float]] = []
    kept: list[float] = []
    epochs = pruned = 0
    best_trial = _best(run)
    pruned_best = False
    for trial in run.trials:
        if trial.value is None:  # failed in the unpruned run
            epochs += trial.epochs
            continue
        steps = sorted(trial.curve)
        for i, step in enumerate(steps):
            seen = {s: trial.curve[s] for s in steps[: i + 1]}
            if rule(seen, completed, step):
                epochs += i + 1
                pruned += 1
                pruned_best |= trial is best_trial
                break
        else:
            epochs += len(steps)
            completed.append(trial.curve)
            kept.append(trial.value)
    best = (max(kept) if run.sign > 0 else min(kept)) if kept else math.nan
    return {
        "pruned": pruned,
        "epochs": epochs,
        "epochs_ratio": epochs / max(1, run.epochs),
        "best_loss": run.sign * (run.best - best),
        "pruned_best": int(pruned_best),
    }


def _best(run: StudyRun) -> TrialTrace | None:
    done = [t for t in run.trials if t.value is not None]
    return max(done, key=lambda t: run.sign * t.value) if done else None


def decision_cost(repeats: int, completed: int = 10, epochs: int = 40) -> dict[str, float]:
    """Milliseconds (wall, CPU) per epoch that reporting a score and asking ``should_prune``
    costs in a sqlite study with ``completed`` finished trials, default pruner vs none."""
    samples: dict[str, list[tuple[float, float]]] = {"pruned": [], "unpruned": []}
    factories = {"pruned": tuning.PRUNERS["neural"], "unpruned": optuna.pruners.NopPruner}
    with (
        tempfile.TemporaryDirectory(prefix="dlvsml-pruner-cost-") as folder,
        warnings.catch_warnings(),  # "heartbeat is meant for Study.optimize": ask/tell here
    ):
        warnings.simplefilter("ignore", UserWarning)
        storage = stores.open_storage(f"sqlite:///{Path(folder) / 'optuna.db'}")
        for repeat in range(max(3, repeats)):
            for variant, factory in factories.items():
                study = optuna.create_study(
                    study_name=f"{variant}-{repeat}",
                    storage=storage,
                    pruner=factory(),
                    direction="maximize",
                )
                for _ in range(completed):
                    trial = study.ask()
                    for epoch in range(epochs):
                        trial.report(0.5 + epoch / 100, epoch)
                    study.tell(trial, 0.9)
                trial = study.ask()
                start = clocks()
                for epoch in range(epochs):
                    trial.report(0.99, epoch)
                    trial.should_prune()
                wall, cpu = clocks()
                samples[variant].append(
                    ((wall - start[0]) * 1e3 / epochs, (cpu - start[1]) * 1e3 / epochs)
                )
                study.tell(trial, 0.9)
    return {
        f"{variant}_{clock}_ms": median(s[i] for s in values)
        for variant, values in samples.items()
        for i, clock in enumerate(("wall", "cpu"))
    }


# ---- the benchmark ----------------------------------------------------------------------------


def run(repeats: int) -> Result:
    limit_threads(N_THREADS)
    seeds = list(range(repeats))
    rows: list[dict[str, Any]] = []
    per_seed: list[dict[str, Any]] = []
    replays: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="dlvsml-tuning-efficiency-") as folder:
        storage = f"sqlite:///{Path(folder) / 'optuna.db'}"
        stores.open_storage(storage)  # creates the tables, outside the first study's clocks
        for workload in WORKLOADS:
            dataset = load(workload)
            label = workload.label(dataset)
            warm_up(workload, dataset)
            pairs = []
            for seed in seeds:  # alternate which variant runs first, so drifting load hits both
                order = ("pruned", "unpruned") if seed % 2 == 0 else ("unpruned", "pruned")
                runs = {v: run_study(workload, dataset, seed, v, storage) for v in order}
                pairs.append((runs["pruned"], runs["unpruned"]))
                print(f"  {label} seed {seed}: {_line(runs)}", file=sys.stderr, flush=True)
            seed_rows = [
                _seed_row(label, seed, p, u) for seed, (p, u) in zip(seeds, pairs, strict=True)
            ]
            per_seed += seed_rows
            rows += _summary_rows(label, workload.trials, seed_rows)
            for rule_name, rule in RULES.items():
                outcomes = [replay(u, rule) for _, u in pairs]
                replays.append(
                    {
                        "workload": label,
                        "rule": rule_name,
                        "pruned": median(o["pruned"] for o in outcomes),
                        "epochs_ratio": median(o["epochs_ratio"] for o in outcomes),
                        "best_loss": median(o["best_loss"] for o in outcomes),
                        "pruned_best": sum(o["pruned_best"] for o in outcomes),
                        "seeds": len(outcomes),
                    }
                )
    cost = decision_cost(repeats)
    return Result(
        name="tuning_efficiency",
        title="Tuning efficiency: neural studies with and without pruning",
        headline=_headline(rows, per_seed),
        rows=rows,
        columns=[
            ("workload", "workload"),
            ("variant", "variant"),
            ("n_pruned", "trials pruned"),
            ("epochs", "epochs"),
            ("wall", "wall s"),
            ("cpu", "CPU s"),
            ("cpu_ms_per_epoch", "CPU ms/epoch"),
            ("best", "best val"),
            ("best_gap", "best − unpruned best"),
            ("best_at_pruned_epochs", "best within pruned run's epochs"),
            ("target", "target"),
            ("trial_at_target", "trial # at target"),
            ("epochs_to_target", "epochs to target"),
            ("wall_to_target", "wall s to target"),
            ("cpu_to_target", "CPU s to target"),
        ],
        notes=_notes(repeats, per_seed, replays, cost),
        meta={
            "decision_cost": cost,
            "seeds": seeds,
            "n_threads": N_THREADS,
            "validation_fraction": VALIDATION_FRACTION,
            "pruner": repr(tuning.PRUNERS["neural"]),
            "workloads": [vars(w) for w in WORKLOADS],
            "per_seed": per_seed,
            "replay": replays,
        },
    )


def _headline(rows: list[dict[str, Any]], per_seed: list[dict[str, Any]]) -> str:
    ratios = [r for r in rows if r["variant"].startswith("ratio")]

    def span(key: str) -> str:
        values = [r[key] for r in ratios]
        return f"{min(values):.2f}–{max(values):.2f}×"

    worse = sum(r["pruned"]["best_gap"] < 0 for r in per_seed)
    return (
        f"pruned vs unpruned (median per model): epochs {span('epochs')}, CPU {span('cpu')}, "
        f"epochs to the common target {span('epochs_to_target')}; the pruned study's best was "
        f"worse in {worse} of {len(per_seed)} runs"
    )


def _line(runs: dict[str, StudyRun]) -> str:
    return "; ".join(
        f"{v} {r.n('PRUNED')} pruned, {r.epochs} epochs, {r.wall:.1f} s, best {r.best:.4f}"
        for v, r in runs.items()
    )


def _seed_row(label: str, seed: int, pruned: StudyRun, unpruned: StudyRun) -> dict[str, Any]:
    target = min(pruned.best, unpruned.best) if pruned.sign > 0 else max(pruned.best, unpruned.best)
    row: dict[str, Any] = {"workload": label, "seed": seed, "target": target}
    for run_ in (pruned, unpruned):
        epochs, wall, cpu, number = run_.to_target(target)
        row[run_.variant] = {
            "n_trials": len(run_.trials),
            "n_pruned": run_.n("PRUNED"),
            "n_failed": run_.n("FAIL"),
            "epochs": run_.epochs,
            "wall": run_.wall,
            "cpu": run_.cpu,
            "cpu_ms_per_epoch": run_.cpu * 1e3 / max(1, run_.epochs),
            "best": run_.best,
            "best_gap": run_.sign * (run_.best - unpruned.best),
            # the unpruned run's best score had it stopped after the pruned run's epochs
            "best_at_pruned_epochs": run_.best_within(pruned.epochs),
            "trial_at_target": number,
            "epochs_to_target": epochs,
            "wall_to_target": wall,
            "cpu_to_target": cpu,
            "trials": [vars(t) for t in run_.trials],
        }
    row["lost"] = lost_trials(pruned, unpruned)
    return row


SUMMED = (
    "n_pruned",
    "epochs",
    "wall",
    "cpu",
    "cpu_ms_per_epoch",
    "best",
    "best_gap",
    "best_at_pruned_epochs",
    "trial_at_target",
    "epochs_to_target",
    "wall_to_target",
    "cpu_to_target",
)
RATIOS = ("epochs", "wall", "cpu", "cpu_ms_per_epoch", "epochs_to_target")
RATIOS += ("wall_to_target", "cpu_to_target")


def _summary_rows(label: str, trials: int, seed_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Medians over seeds of each variant, then the median of per-seed pruned/unpruned ratios."""
    out = []
    name = f"{label}, {trials} trials"
    for variant in ("pruned", "unpruned"):
        row = {
            "workload": name,
            "variant": variant,
            "target": median(r["target"] for r in seed_rows),
        }
        row |= {key: median(r[variant][key] for r in seed_rows) for key in SUMMED}
        out.append(row)
    ratio: dict[str, Any] = {"workload": name, "variant": "ratio pruned/unpruned"}
    for key in RATIOS:
        ratio[key] = median(
            r["pruned"][key] / r["unpruned"][key] if r["unpruned"][key] else math.nan
            for r in seed_rows
        )
    out.append(ratio)
    return out


def _notes(
    repeats: int,
    per_seed: list[dict[str, Any]],
    replays: list[dict[str, Any]],
    cost: dict[str, float],
) -> list[str]:
    workloads = list(dict.fromkeys(r["workload"] for r in per_seed))
    quality = []
    for w in workloads:
        mine = [r for r in per_seed if r["workload"] == w]
        lost = {k: sum(r["lost"][k] for r in mine) for k in ("matched", "above_median", "best")}
        worse = sum(r["pruned"]["best_gap"] < 0 for r in mine)
        epoch_ms = median(r["unpruned"]["cpu_ms_per_epoch"] for r in mine)
        quality.append(
            f"- {w}: the pruned run found a worse best in {worse} of {len(mine)} seeds. "
            f"{lost['matched']} pruned trials also ran to the end unpruned (same parameters); "
            f"{lost['above_median']} of them finished "
            f"above the unpruned study's median there, and in {lost['best']} of {len(mine)} seeds "
            "a pruned one was the unpruned study's best trial. An unpruned epoch costs "
            f"{epoch_ms:.0f} ms CPU."
        )
    replay_table = [
        "| workload | rule | trials pruned | epochs vs unpruned | best score lost | "
        "seeds where the best trial is pruned |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['workload']} | {r['rule']} | {r['pruned']:g} | {r['epochs_ratio']:.2f} | "
            f"{r['best_loss']:.4f} | {r['pruned_best']} of {r['seeds']} |"
            for r in replays
        ),
    ]
    return [
        f"Medians over {repeats} seeds (each seed: its own subsample, train/validation split and "
        "TPE seed, the same for both variants); the ratio row is the median of per-seed ratios. "
        f"CPU, {N_THREADS} torch thread per fit; the pruned and unpruned studies of a seed run "
        "back to back, in alternating order. `best val` is the cell metric (balanced accuracy) "
        "on the validation rows; the pruner sees the trainer's per-epoch accuracy on the same "
        "rows. Wall seconds are noisy when other jobs share the cores; CPU seconds less so.",
        "**Target** (per seed): the lower of the two runs' final best validation scores, so both "
        "reach it; `epochs/wall s/CPU s to target` count from the study's start to the end of "
        "the first trial whose score reaches it (`trial #`, 0 = the defaults), pruned trials on "
        "the way included. Totals include every trial of the budget; a pruned trial counts the "
        "epochs it ran. `best within pruned run's epochs`: the unpruned run's best score among "
        "the trials it had finished when it had trained as many epochs as the whole pruned run "
        "(the alternative to pruning: a smaller budget).",
        "Pruning and quality, per workload (sums over seeds):\n" + "\n".join(quality),
        f"Cost of one pruning decision (report the epoch's score + `should_prune`, sqlite, a "
        f"study of 10 finished trials × 40 epochs): {cost['pruned_cpu_ms']:.1f} ms CPU "
        f"({cost['pruned_wall_ms']:.1f} ms wall) per epoch with the default pruner, "
        f"{cost['unpruned_cpu_ms']:.1f} ms CPU ({cost['unpruned_wall_ms']:.1f} ms wall) with "
        "NopPruner (the report alone).",
        "Replay of the unpruned runs' full per-epoch curves through candidate rules (offline; "
        "after a prune a real study would sample different trials, so this is indicative). "
        "Medians over seeds:\n\n" + "\n".join(replay_table),
    ]


def main() -> None:
    cli(run, default_repeats=3)


if __name__ == "__main__":
    main()
