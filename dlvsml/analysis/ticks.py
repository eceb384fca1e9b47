"""Axis ticks a person reads: the sizes measured as plain numbers, and no label over another.

Matplotlib's log axes label powers of ten (``6×10¹``) and, on short ranges, every minor tick,
so neighbouring labels run into each other (``2×10³×10⁴``). These helpers put plain numbers at
chosen places and hide any label whose box would overlap the one before it, measured with the
figure's own renderer.

Example::

    size_ticks(axis, [50, 150, 400])
    declutter(figure)
    assert not overlapping_tick_labels(figure)
"""

from __future__ import annotations

from collections.abc import Iterable

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator


def plain_number(value: float, _position: object = None) -> str:
    """``50``, ``1,500``, ``0.25``: what a person writes, not ``5×10¹``."""
    if value >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:.2g}"


def size_ticks(axis: Axes, sizes: Iterable[float]) -> None:
    """Log x axis with one tick per measured size, labelled with the size itself."""
    measured = sorted({float(size) for size in sizes})
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(FixedLocator(measured))
    axis.xaxis.set_major_formatter(FuncFormatter(plain_number))
    axis.xaxis.set_minor_locator(NullLocator())


def plain_log_ticks(axis: Axes) -> None:
    """Log x axis labelled in plain numbers at 1, 2 and 5 times powers of ten, no minor labels."""
    axis.set_xscale("log")
    axis.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0), numticks=8))
    axis.xaxis.set_major_formatter(FuncFormatter(plain_number))
    axis.xaxis.set_minor_formatter(NullFormatter())


def _renderer(figure: Figure) -> RendererAgg:
    canvas = figure.canvas if isinstance(figure.canvas, FigureCanvasAgg) else None
    canvas = canvas or FigureCanvasAgg(figure)
    canvas.draw()
    return canvas.get_renderer()


def _visible_labels(axis: Axes, which: str) -> list[Text]:
    ticks = axis.xaxis if which == "x" else axis.yaxis
    labels = [*ticks.get_ticklabels(minor=False), *ticks.get_ticklabels(minor=True)]
    return [label for label in labels if label.get_visible() and label.get_text()]


def declutter(figure: Figure, pad: float = 2.0) -> None:
    """Hide tick labels that overlap an earlier visible label of the same axis (in pixels)."""
    renderer = _renderer(figure)
    for axis in figure.axes:
        for which in ("x", "y"):
            kept = []
            labels = _visible_labels(axis, which)
            labels.sort(key=lambda label: label.get_window_extent(renderer).x0 if which == "x"
                        else label.get_window_extent(renderer).y0)  # fmt: skip
            for label in labels:
                box = label.get_window_extent(renderer).padded(pad)
                if any(box.overlaps(other) for other in kept):
                    label.set_visible(False)
                else:
                    kept.append(box)


def overlapping_tick_labels(figure: Figure) -> list[tuple[str, str]]:
    """Pairs of visible tick labels on one axis whose boxes intersect (should be none)."""
    renderer = _renderer(figure)
    pairs = []
    for axis in figure.axes:
        for which in ("x", "y"):
            labels = _visible_labels(axis, which)
            boxes = [label.get_window_extent(renderer) for label in labels]
            for first in range(len(labels)):
                for second in range(first + 1, len(labels)):
                    if boxes[first].overlaps(boxes[second]):
                        pairs.append((labels[first].get_text(), labels[second].get_text()))
    return pairs


def sticks_out(figure: Figure) -> bool:
    """Whether anything drawn (labels, legends, annotations) reaches past the figure's edge."""
    drawn = figure.get_tightbbox(_renderer(figure))
    page = figure.bbox_inches.padded(0.01)
    return bool(
        drawn.x0 < page.x0 or drawn.y0 < page.y0 or drawn.x1 > page.x1 or drawn.y1 > page.y1
    )
