"""The audit explorer's chart: events over time by outcome, as inline SVG.

Drawn on the server (no script, nothing for the Content-Security-Policy to
allow): one stacked bar per time slice, denials in their own colour so a
burst of them stands out. Colours come from the stylesheet by class.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.console.times import iso

OUTCOMES = ("success", "denied", "failed")
BARS = 24
WIDTH = 720
HEIGHT = 160
_AXIS = 20


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    #: (outcome, y, height) from the bottom up.
    parts: tuple[tuple[str, float, float], ...]
    title: str


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    start: str
    end: str
    peak: int
    totals: dict[str, int]
    width: int = WIDTH
    height: int = HEIGHT
    axis_y: int = HEIGHT - _AXIS


def chart(points: Sequence[tuple[float | None, str | None]]) -> Chart | None:
    """The chart of ``(time, outcome)`` points; None when there are none."""
    timed = [(t, o or "failed") for t, o in points if t is not None]
    if not timed:
        return None
    first = min(t for t, _ in timed)
    last = max(t for t, _ in timed)
    span = max(last - first, 1.0)
    counts = [dict.fromkeys(OUTCOMES, 0) for _ in range(BARS)]
    totals = dict.fromkeys(OUTCOMES, 0)
    for moment, outcome in timed:
        slot = min(int((moment - first) / span * BARS), BARS - 1)
        kind = outcome if outcome in OUTCOMES else "failed"
        counts[slot][kind] += 1
        totals[kind] += 1
    peak = max(sum(c.values()) for c in counts)
    usable = HEIGHT - _AXIS - 4
    slot_width = WIDTH / BARS
    bars = []
    for index, count in enumerate(counts):
        y = float(HEIGHT - _AXIS)
        parts = []
        for outcome in OUTCOMES:
            height = count[outcome] / peak * usable
            if height:
                y -= height
                parts.append((outcome, round(y, 1), round(height, 1)))
        start = first + span * index / BARS
        summary = ", ".join(f"{count[o]} {o}" for o in OUTCOMES)
        bars.append(
            Bar(
                x=round(index * slot_width + 1, 1),
                width=round(slot_width - 2, 1),
                parts=tuple(parts),
                title=f"from {iso(start)}: {summary}",
            )
        )
    return Chart(tuple(bars), iso(first), iso(last), peak, totals)
