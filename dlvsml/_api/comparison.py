"""`Comparison`: what ``dlvsml.compare`` returns; its results as tables, figures and advice.

Everything is read back from MLflow (the single record), restricted to the cells of this
comparison's spec, so an experiment that also holds earlier calls with other sizes or budgets
does not leak into the tables.
"""

from __future__ import annotations

import html
import shutil
import sys
import tempfile
from functools import cached_property, partial
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pandas as pd

from dlvsml.errors import DataError, DlvsmlError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dlvsml.data import Dataset
    from dlvsml.recommender import Recommendation
    from dlvsml.run.suite import RunSummary
    from dlvsml.spec import ExperimentSpec

LEADERBOARD_COLUMNS = [
    "model", "family", "score", "score_sd", "n_seeds", "tuning_seconds", "fit_seconds",
    "predict_seconds_per_1k",
]  # fmt: skip


class Comparison:
    """The outcome of ``dlvsml.compare``: the spec, the run summary and the measured results.

    ``results`` has one row per finished cell (`dlvsml.analysis.tidy`: ``score`` is the test
    score, higher is better, named by ``score_name``).
    """

    def __init__(self, spec: ExperimentSpec, summary: RunSummary, cell_keys: tuple[str, ...]):
        self.spec = spec
        self.summary = summary
        self.cell_keys = cell_keys

    @property
    def dataset_uri(self) -> str:
        return self.spec.datasets[0]

    @cached_property
    def records(self) -> pd.DataFrame:
        """Every run of this comparison's cells as MLflow holds them (`results_frame` rows)."""
        from dlvsml.tracking import results_frame

        frame = results_frame(self.spec.name, self.summary.tracking_uri)
        if frame.empty:
            return frame
        return frame[frame["cell_key"].isin(self.cell_keys)].reset_index(drop=True)

    @cached_property
    def results(self) -> pd.DataFrame:
        """Finished cells with a comparable ``score`` (higher is better)."""
        return _analysis().tidy(self.records)

    def leaderboard(self, size: int | None = None) -> pd.DataFrame:
        """Models ranked by mean test score over seeds at train size ``size`` (default the
        largest measured); index ``rank`` from 1."""
        frame = self._finished()
        sizes = sorted(frame["train_size"].unique())
        size = sizes[-1] if size is None else size
        if size not in sizes:
            raise DataError(f"no results at train size {size}; the sizes are {sizes}")
        at = frame[frame["train_size"] == size]
        board = at.groupby(["model", "family"], as_index=False).agg(
            score=("score", "mean"),
            score_sd=("score", "std"),
            n_seeds=("seed", "nunique"),
            tuning_seconds=("tuning_seconds", "mean"),
            fit_seconds=("fit_seconds", "mean"),
            predict_seconds_per_1k=("predict_seconds_per_1k", "mean"),
        )
        board = board.sort_values(["score", "model"], ascending=[False, True])[LEADERBOARD_COLUMNS]
        board.insert(1, "train_size", int(size))
        board["score_name"] = at["score_name"].iloc[0]
        board.index = pd.RangeIndex(1, len(board) + 1, name="rank")
        return board

    def learning_curves(self) -> pd.DataFrame:
        """Mean score and 95% CI over seeds per train size: one curve per model (``kind``
        ``model``) and per family's validation-chosen model (``kind`` ``family``)."""
        analysis, frame = _analysis(), self._finished()
        return pd.concat(
            [
                analysis.model_curves(frame).assign(kind="model"),
                analysis.family_curves(frame).assign(kind="family"),
            ],
            ignore_index=True,
        )

    def plot(self) -> Figure:
        """The learning-curve figure: family curves with CI bands, each model dashed, and the
        crossover marked when there is one (shows inline in a notebook)."""
        analysis, frame = _analysis(), self._finished()
        dataset = str(frame["dataset"].iloc[0])
        figure = analysis.learning_curve_figure(
            analysis.model_curves(frame),
            analysis.family_curves(frame),
            analysis.crossover(frame, dataset, n_boot=200),
            score_name=str(frame["score_name"].iloc[0]),
        )
        _show_figures_inline()
        return figure

    def crossover(self, n_boot: int = 1000) -> pd.DataFrame:
        """From which train size the best net beats the best classical model (one row, with a
        bootstrap CI over seeds; ``status`` says whether the curves crossed in range)."""
        return _analysis().crossovers(self._finished(), n_boot=n_boot)

    def verdicts(self) -> pd.DataFrame:
        """The report's headline: which family wins, by how much (95% CI from 3 seeds), from
        which size, whether significant and budget-bound (`dlvsml.analysis.verdicts`)."""
        return _analysis().verdicts(self._finished())

    def report(self, path: str | Path | None = None, n_boot: int = 1000) -> Path:
        """Write the HTML report (as ``dlvsml report``) and return its path: ``path`` is a
        ``.html`` file or a folder for ``index.html`` (default ``reports/<spec name>``)."""
        from dlvsml.data import dataset_tables

        build_report = partial(_analysis().build_report, tables=dataset_tables(self.spec.datasets))
        self._finished()
        target = Path(path) if path is not None else Path("reports") / self.spec.name
        if target.suffix.lower() not in (".html", ".htm"):
            return build_report(self.records, self.spec.name, target, n_boot=n_boot)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent) as folder:
            page = build_report(self.records, self.spec.name, Path(folder), n_boot=n_boot)
            shutil.move(page, target)
        return target

    def recommend(self, **facts: Any) -> Recommendation:
        """The recommender on this dataset's profile (``facts`` override it), with this
        comparison's results as evidence: its crossover as the "enough data for deep learning"
        threshold and its classical win rate as a fact (as ``dlvsml recommend --evidence``)."""
        from dlvsml._api.advice import recommend_for

        return recommend_for(
            self.dataset_uri, facts, results=self.records, spec_name=self.spec.name
        )

    def dataset(self) -> Dataset:
        """The compared data as dlvsml loaded it."""
        from dlvsml.data import load_dataset

        return load_dataset(self.dataset_uri)

    def _finished(self) -> pd.DataFrame:
        frame = self.results
        if frame.empty:
            failed = "; ".join(f"{label}: {why}" for label, why in self.summary.failed[:3])
            raise DlvsmlError(
                f"no cell of {self.spec.name!r} finished"
                + (f" (failed: {failed})" if failed else "")
                + "; see .summary, or run again with a larger budget or other models"
            )
        return frame

    def _headline(self) -> str:
        summary = self.summary
        done = len(summary.finished) + summary.already_done
        parts = [f"{done} cells finished"]
        if summary.already_done:
            parts.append(f"{summary.already_done} from earlier runs")
        if summary.failed:
            parts.append(f"{len(summary.failed)} failed")
        if summary.skipped:
            parts.append(f"{len(summary.skipped)} not run")
        return (
            f"Comparison {self.spec.name!r} on {self.dataset_uri} ({', '.join(parts)}; "
            f"MLflow: {summary.tracking_uri})"
        )

    def __repr__(self) -> str:
        if self.results.empty:
            return self._headline()
        board = self.leaderboard()
        return f"{self._headline()}\n{board.to_string(float_format=lambda v: f'{v:.4g}')}"

    def _repr_html_(self) -> str:
        headline = f"<p><b>{html.escape(self._headline())}</b></p>"
        if self.results.empty:
            return headline
        board = self.leaderboard()
        size = int(board["train_size"].iloc[0])
        caption = (
            f"<p>Leaderboard at train size {size} (mean test {board['score_name'].iloc[0]})</p>"
        )
        return headline + caption + board.to_html(float_format=lambda v: f"{v:.4g}")


def _analysis() -> ModuleType:
    """The analysis stack (matplotlib, scipy), imported when a table or figure is asked for."""
    import dlvsml.analysis

    return dlvsml.analysis


def _show_figures_inline() -> None:
    """Let IPython draw returned figures as PNG: dlvsml builds plain `Figure`s without pyplot,
    so the inline backend, which would register that formatter, may never load."""
    if "IPython" not in sys.modules:
        return
    from IPython import get_ipython
    from IPython.core.pylabtools import select_figure_formats
    from matplotlib.figure import Figure

    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    for formatter in shell.display_formatter.formatters.values():
        try:
            formatter.lookup_by_type(Figure)
            return  # the user's (or the inline backend's) choice stands
        except KeyError:
            continue
    select_figure_formats(shell, {"png"})
