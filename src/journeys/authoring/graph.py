"""A journey as a graph: Mermaid text, and an SVG drawn without any outside tool.

Journeys are series-parallel (blocks nest and rejoin), so a recursive layout places them
exactly: each nested block gets its own column, and the step after rejoins below the
deepest of them. That keeps the product free of a JavaScript bundle or a Graphviz binary.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from journeys.definitions.common import format_duration, format_signed_duration
from journeys.definitions.conditions import (
    AllOf,
    AnyOf,
    AttributeFrom,
    Comparison,
    Condition,
    NotOf,
)
from journeys.definitions.journeys import (
    ActivateStep,
    BranchStep,
    EmailStep,
    ExitStep,
    JourneyDefinition,
    PushStep,
    SmsStep,
    SplitStep,
    StepBase,
    WaitFor,
    WaitForStep,
    WaitStep,
    WaitUntil,
    WaitUntilTime,
    WebhookStep,
    blocks,
    kind_of,
)
from journeys.engine.program import compile_journey

START, END = "start", "end"


@dataclass(frozen=True)
class GraphNode:
    id: str
    label: str
    kind: str  # start, end, email, sms, push, wait, wait_for, branch, split, activate, ...


@dataclass(frozen=True)
class GraphEdge:
    source: str
    target: str
    label: str = ""


@dataclass
class Graph:
    nodes: list[GraphNode] = field(default_factory=list)
    edges: list[GraphEdge] = field(default_factory=list)
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)  # node -> (column, row)


def build_graph(journey: JourneyDefinition) -> Graph:
    program = compile_journey(journey)
    graph = Graph()
    start_label = f"{journey.start.trigger}" + (" (when ...)" if journey.start.when else "")
    graph.nodes.append(GraphNode(START, start_label, "start"))
    graph.edges.append(GraphEdge(START, program.first or END))
    for _, step in journey.walk():
        node = program[step.id]
        graph.nodes.append(GraphNode(step.id, _label(step), kind_of(step)))
        labels = _block_labels(step)
        for label, entry in zip(labels, node.entries, strict=True):
            graph.edges.append(GraphEdge(step.id, entry or END, label))
        if not labels and not isinstance(step, ExitStep):
            graph.edges.append(GraphEdge(step.id, node.next or END))
        if isinstance(step, ExitStep):
            graph.edges.append(GraphEdge(step.id, END, "exit"))
    graph.nodes.append(GraphNode(END, "end", "end"))
    graph.positions = _layout(journey)
    return graph


_MERMAID_SHAPES = {
    "start": ('(["', '"])'),
    "end": ('(["', '"])'),
    "wait_for": ('{"', '"}'),
    "branch": ('{"', '"}'),
    "split": ('{"', '"}'),
}


def mermaid(journey: JourneyDefinition) -> str:
    graph = build_graph(journey)
    lines = ["flowchart TD"]
    for node in graph.nodes:
        opening, closing = _MERMAID_SHAPES.get(node.kind, ('["', '"]'))
        text = node.label.replace('"', "'")
        lines.append(f"    {_mid(node.id)}{opening}{text}{closing}")
    for edge in graph.edges:
        label = edge.label.replace("|", "/")
        arrow = f" -->|{label}| " if label else " --> "
        lines.append(f"    {_mid(edge.source)}{arrow}{_mid(edge.target)}")
    return "\n".join(lines) + "\n"


def _mid(node_id: str) -> str:
    # Mermaid ids: letters, digits and underscores; step ids may hold dashes.
    return "n_" + node_id.replace("-", "_")


# -- labels ---------------------------------------------------------------------------


def _label(step: StepBase) -> str:
    match step:
        case EmailStep(email=message):
            return f"email {step.id}: {_short(message.subject)}"
        case SmsStep(sms=message):
            return f"SMS {step.id}: {_short(message.text)}"
        case PushStep(push=message):
            return f"push {step.id}: {_short(message.title)}"
        case WaitStep(wait=spec):
            return f"wait {step.id}: {wait_text(spec)}"
        case WaitForStep(wait_for=spec):
            return f"{step.id}: {awaited_text(spec)} within {format_duration(spec.within)}?"
        case BranchStep():
            return f"branch {step.id}"
        case SplitStep():
            return f"split {step.id}"
        case ActivateStep(activate=activation):
            return f"activate {step.id}: {activation.trigger}"
        case WebhookStep(webhook=call):
            return f"webhook {step.id}: {call.url.host}"
        case ExitStep(exit=reason):
            return f"exit {step.id}" + (f": {reason}" if reason else "")
    return step.id


def _block_labels(step: StepBase) -> list[str]:
    match step:
        case WaitForStep():
            return ["yes", "no"]
        case BranchStep():
            arms = [arm.name or _condition(arm.when) for arm in step.branch]
            return [*arms, "otherwise"]
        case SplitStep():
            return [f"{arm.name} {arm.percent:g}%" for arm in step.split]
    return []


def awaited_text(spec: WaitFor) -> str:
    """What a wait_for listens to: `email.opened of welcome or order.placed`."""
    return " or ".join(a.trigger + (f" of {a.of}" if a.of else "") for a in spec.awaited)


def wait_text(spec: Any) -> str:
    """A wait as written: `PT1H`, `until trigger.appointment_at -P1D`, `until 09:00`."""
    match spec:
        case WaitUntil(until=until, offset=offset):
            moment = until.from_ if isinstance(until, AttributeFrom) else until.isoformat()
            return f"until {moment}" + (f" {format_signed_duration(offset)}" if offset else "")
        case WaitUntilTime(until_time=clock, days=days):
            return f"until {clock} on {','.join(days)}" if len(days) < 7 else f"until {clock}"
        case timedelta():
            return format_duration(spec)
    return str(spec)


def _condition(condition: Condition) -> str:
    match condition:
        case Comparison(attr=attr, op=op, value=AttributeFrom(from_=path)):
            return f"{attr} {op} {path}"
        case Comparison(attr=attr, op=op, value=value):
            return f"{attr} {op}" + ("" if value is None else f" {value}")
        case AllOf(all=items):
            return " and ".join(_condition(c) for c in items)
        case AnyOf(any=items):
            return " or ".join(_condition(c) for c in items)
        case NotOf(not_=inner):
            return f"not ({_condition(inner)})"
    raise AssertionError(condition)  # pragma: no cover


def _short(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# -- layout and SVG -------------------------------------------------------------------


def _layout(journey: JourneyDefinition) -> dict[str, tuple[int, int]]:
    positions: dict[str, tuple[int, int]] = {START: (0, 0)}

    def place(steps: Sequence[StepBase], column: int, row: int) -> tuple[int, int]:
        """Place a block from (column, row); return (columns used, next free row)."""
        width = 1
        for step in steps:
            positions[step.id] = (column, row)
            row += 1
            nested = [block for _, block in blocks(step)]
            if nested:
                bottom, offset = row, 0
                for block in nested:
                    used, block_bottom = place(block, column + offset, row)
                    offset += used
                    bottom = max(bottom, block_bottom)
                width = max(width, offset)
                row = bottom
        return width, row

    _, bottom = place(journey.steps, 0, 1)
    positions[END] = (0, bottom)
    return positions


_COLOURS = {
    "start": "#dbeafe",
    "end": "#e5e7eb",
    "email": "#fef3c7",
    "sms": "#fef3c7",
    "push": "#fef3c7",
    "wait": "#ede9fe",
    "wait_for": "#ede9fe",
    "branch": "#dcfce7",
    "split": "#dcfce7",
    "activate": "#fce7f3",
    "webhook": "#fce7f3",
    "exit": "#fee2e2",
}
_W, _H, _GAP_X, _GAP_Y = 220, 44, 30, 36
_LABEL_CHARS = 30  # what fits in a box _W wide at 12px (the full label shows on hover)


_ARROW = (
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
    'markerHeight="7" orient="auto-start-reverse">'
    '<path d="M 0 0 L 10 5 L 0 10 z" fill="#6b7280"/></marker></defs>'
)


def svg(journey: JourneyDefinition) -> str:
    graph = build_graph(journey)
    centre = {
        node: (col * (_W + _GAP_X) + _W / 2 + 10, row * (_H + _GAP_Y) + _H / 2 + 10)
        for node, (col, row) in graph.positions.items()
    }
    width = max(x for x, _ in centre.values()) + _W / 2 + 10
    height = max(y for _, y in centre.values()) + _H / 2 + 10
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="system-ui, sans-serif" '
        'font-size="12">',
        _ARROW,
    ]
    parts += [_svg_edge(edge, centre) for edge in graph.edges]
    parts += [_svg_node(node, centre[node.id]) for node in graph.nodes]
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _svg_edge(edge: GraphEdge, centre: dict[str, tuple[float, float]]) -> str:
    (x1, y1), (x2, y2) = centre[edge.source], centre[edge.target]
    y1, y2 = y1 + _H / 2, y2 - _H / 2
    middle = y2 - _GAP_Y / 2 if y2 > y1 else y1 + _GAP_Y / 2
    points = f"{x1:.0f},{y1:.0f} {x1:.0f},{middle:.0f} {x2:.0f},{middle:.0f} {x2:.0f},{y2:.0f}"
    line = f'<polyline points="{points}" fill="none" stroke="#6b7280" marker-end="url(#arrow)"/>'
    if not edge.label:
        return line
    label = html.escape(_short(edge.label, 28))
    return f'{line}<text x="{x2 + 4:.0f}" y="{middle - 4:.0f}" fill="#374151">{label}</text>'


def _svg_node(node: GraphNode, at: tuple[float, float]) -> str:
    x, y = at
    rounded = 22 if node.kind in ("start", "end") else 6
    colour = _COLOURS.get(node.kind, "#f3f4f6")
    box = (
        f'<rect x="{x - _W / 2:.0f}" y="{y - _H / 2:.0f}" width="{_W}" height="{_H}" '
        f'rx="{rounded}" fill="{colour}" stroke="#9ca3af"/>'
    )
    if node.kind in ("start", "end"):
        label = html.escape(_short(node.label, _LABEL_CHARS))
        text = f'<text x="{x:.0f}" y="{y + 4:.0f}" text-anchor="middle">{label}</text>'
    else:
        # A step's box names it (id, kind); its content (a subject with template tags, a
        # condition) would be cut off mid-expression, so it shows on hover instead.
        name = html.escape(_short(node.id, _LABEL_CHARS))
        kind = html.escape(node.kind.replace("_", " "))
        text = (
            f'<text x="{x:.0f}" y="{y - 3:.0f}" text-anchor="middle" font-weight="600">'
            f"{name}</text>"
            f'<text x="{x:.0f}" y="{y + 12:.0f}" text-anchor="middle" fill="#4b5563" '
            f'font-size="11">{kind}</text>'
        )
    return f"<g><title>{html.escape(node.label)}</title>{box}{text}</g>"


def html_page(journey: JourneyDefinition) -> str:
    title = html.escape(journey.name)
    style = "body{font-family:system-ui,sans-serif;margin:2rem}pre{background:#f3f4f6;padding:1rem}"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{style}</style></head><body><h1>{title}</h1>{svg(journey)}"
        f"<h2>Mermaid</h2><pre>{html.escape(mermaid(journey))}</pre></body></html>"
    )
