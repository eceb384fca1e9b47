"""The live view of a suite: cells done of total, the current cell, its trial and best score, ETA.

Drawn on stderr (so ``--json`` output stays clean) with rich; disabled, it draws nothing.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dlvsml.records import Cell, CellResult


class SuiteProgress:
    """A progress bar over cells, updated by the runner's events."""

    def __init__(self, total: int, trials: int | None, enabled: bool = True) -> None:
        self.console = Console(stderr=True)
        self.trials = trials
        self.labels: dict[str, str] = {}
        self.progress = Progress(
            TextColumn("[bold]cells"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.description}"),
            console=self.console,
            disable=not enabled,
        )
        self.task = self.progress.add_task("", total=total)

    def __enter__(self) -> SuiteProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def started(self, cell: Cell) -> None:
        self.labels[cell.key] = cell.label
        self.progress.update(self.task, description=f"{cell.label} · starting")

    def event(self, event: tuple[Any, ...]) -> None:
        """A trial finished: ``("trial", cell key, trial number, best score or None)``."""
        _, key, number, best = event
        of = f"/{self.trials}" if self.trials else ""
        shown = "–" if best is None else f"{best:.4g}"
        label = self.labels.get(key, key)
        self.progress.update(
            self.task, description=f"{label} · trial {number + 1}{of} · best {shown}"
        )

    def finished(self, result: CellResult) -> None:
        self.progress.advance(self.task)
        if result.status != "finished":
            self.progress.console.print(
                f"[red]failed[/] {escape(result.cell.label)}: {escape(str(result.reason))}",
                highlight=False,
            )
