"""Day-by-day charts, drawn on the server as SVG: the pages run no script.

One small bar chart per figure (small multiples), each on its own scale, so that a few
goals are visible beside many sends. Every bar has a tooltip with its day and count.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from journeys.store.trends import Day

FIGURES = (
    ("entered", "Entered", "#6366f1"),
    ("sent", "Sent", "#0ea5e9"),
    ("opened", "Opened", "#10b981"),
    ("goals", "Goals", "#f59e0b"),
)
_WIDTH, _HEIGHT, _TOP = 260, 64, 18  # one panel; _TOP holds its title and its peak


def trend_panels(days: Sequence[Day]) -> list[tuple[str, str]]:
    """(figure, SVG) for each figure of FIGURES."""
    return [(name, _panel(days, name, label, colour)) for name, label, colour in FIGURES]


def _panel(days: Sequence[Day], name: str, label: str, colour: str) -> str:
    counts = [int(getattr(day, name)) for day in days]
    peak = max(counts, default=0)
    step = _WIDTH / max(len(days), 1)
    bars = []
    for index, (day, count) in enumerate(zip(days, counts, strict=True)):
        height = (_HEIGHT - _TOP) * count / peak if peak else 0
        x, y = index * step, _HEIGHT - height
        bars.append(
            f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{max(height, 0.5 if count else 0):.1f}" fill="{colour}">'
            f"<title>{day.day.isoformat()}: {count} {escape(label.lower())}</title></rect>"
        )
    total = sum(counts)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" '
        f'width="{_WIDTH}" height="{_HEIGHT}" role="img" font-family="system-ui, sans-serif" '
        f'font-size="11" data-total="{total}" '
        f'aria-label="{escape(label)} per day: {total} in {len(days)} days">'
        f'<text x="0" y="11" font-weight="600" fill="#334155">{escape(label)} · {total}</text>'
        f'<text x="{_WIDTH}" y="11" text-anchor="end" fill="#94a3b8">peak {peak}</text>'
        f'<line x1="0" y1="{_HEIGHT - 0.5}" x2="{_WIDTH}" y2="{_HEIGHT - 0.5}" '
        'stroke="#e2e8f0"/>' + "".join(bars) + "</svg>"
    )
