"""The topology of a flow, laid out as SVG shapes (boxes, lane labels, arrows). Pure.

A list of tasks runs left to right, arrows between them. A flowable task is a frame holding one lane per
branch, stacked: If (then / else), Switch (one per case, defaults), ForEach (the body, per value),
Parallel (one lane per task, they run side by side), Sequential and friends (one lane), plus its ``errors``
and ``finally`` lanes. A Dag task, or a flow whose tasks carry ``dependsOn``, is drawn in columns by
dependency depth with an arrow per dependency.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from daemon.language.model import Flow
from daemon.language.task_base import TaskBase
from daemon.language.tasks_flow import (
    DagTask,
    Flowable,
    ForEachTask,
    IfTask,
    ParallelTask,
    SwitchTask,
)

CHAR = 7.0  # px per character of the 12px monospace label font
BOX_H = 40.0
GAP_X = 28.0
GAP_Y = 14.0
PAD = 10.0
LANE_LABEL = 16.0
HEADER = 34.0
MAX_TASKS = 600  # beyond that the picture is unreadable and slow; the page says so instead


@dataclass(frozen=True, slots=True)
class Shape:
    """A box (``kind``: task, flowable, terminal), or a lane label (``kind``: lane)."""

    kind: str
    x: float
    y: float
    w: float
    h: float
    title: str = ""
    subtitle: str = ""


@dataclass
class Drawing:
    """What the template draws, and the canvas size."""

    shapes: list[Shape] = field(default_factory=list)
    edges: list[str] = field(default_factory=list)  # SVG path data
    width: float = 0.0
    height: float = 0.0


class Block:
    """Something with a size that can draw itself at a position; entry on the left middle, exit right."""

    w: float = 0.0
    h: float = 0.0

    def draw(self, x: float, y: float, out: Drawing) -> None:
        raise NotImplementedError


def _short_type(kind: str) -> str:
    return kind.rsplit(".", 1)[-1]


def _clip(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Leaf(Block):
    def __init__(self, title: str, subtitle: str, kind: str = "task") -> None:
        self.title, self.subtitle, self.kind = _clip(title), _clip(subtitle), kind
        if kind == "terminal":
            self.w = self.h = 18.0
        else:
            self.w = max(110.0, CHAR * max(len(self.title), len(self.subtitle)) + 2 * PAD)
            self.h = BOX_H

    def draw(self, x: float, y: float, out: Drawing) -> None:
        out.shapes.append(Shape(self.kind, x, y, self.w, self.h, self.title, self.subtitle))


def _arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    if abs(y1 - y2) < 0.5:
        return f"M{x1:.1f},{y1:.1f} L{x2:.1f},{y2:.1f}"
    mid = (x1 + x2) / 2
    return f"M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"


class Row(Block):
    """Blocks left to right, vertically centred, joined by arrows."""

    def __init__(self, blocks: list[Block]) -> None:
        self.blocks = blocks
        self.w = sum(b.w for b in blocks) + GAP_X * max(len(blocks) - 1, 0)
        self.h = max((b.h for b in blocks), default=0.0)

    def draw(self, x: float, y: float, out: Drawing) -> None:
        mid = y + self.h / 2
        previous: float | None = None
        for block in self.blocks:
            if previous is not None:
                out.edges.append(_arrow(previous, mid, x, mid))
            block.draw(x, mid - block.h / 2, out)
            previous = x + block.w
            x += block.w + GAP_X


class Frame(Block):
    """A flowable: a titled frame with labelled lanes stacked inside."""

    def __init__(self, title: str, subtitle: str, lanes: list[tuple[str, Block]]) -> None:
        self.title, self.subtitle, self.lanes = _clip(title), _clip(subtitle, 48), lanes
        inner_w = max((b.w for _, b in lanes), default=0.0)
        heads = CHAR * max(
            len(self.title) + len(self.subtitle) + 3, max((len(n) for n, _ in lanes), default=0)
        )
        self.w = max(inner_w, heads) + 2 * PAD
        self.h = (
            HEADER + sum(LANE_LABEL * bool(n) + b.h + GAP_Y for n, b in lanes) + PAD - GAP_Y * bool(lanes)
        )

    def draw(self, x: float, y: float, out: Drawing) -> None:
        out.shapes.append(Shape("flowable", x, y, self.w, self.h, self.title, self.subtitle))
        cy = y + HEADER
        for name, block in self.lanes:
            if name:
                out.shapes.append(Shape("lane", x + PAD, cy, block.w, LANE_LABEL, name))
                cy += LANE_LABEL
            block.draw(x + PAD, cy, out)
            cy += block.h + GAP_Y


class Dag(Block):
    """Tasks in columns by dependency depth; an arrow from each dependency to its dependent."""

    def __init__(self, nodes: list[tuple[str, Block, list[str]]]) -> None:
        self.nodes = nodes
        depth: dict[str, int] = {}
        deps = {node_id: [d for d in after] for node_id, _, after in nodes}

        def depth_of(node_id: str, seen: frozenset[str] = frozenset()) -> int:
            if node_id in depth:
                return depth[node_id]
            if node_id in seen:  # a cycle (refused by validation); do not loop
                return 0
            parents = [p for p in deps.get(node_id, []) if p in deps]
            value = 1 + max((depth_of(p, seen | {node_id}) for p in parents), default=-1)
            depth[node_id] = value
            return value

        self.columns: list[list[tuple[str, Block]]] = []
        for node_id, block, _ in nodes:
            level = depth_of(node_id)
            while len(self.columns) <= level:
                self.columns.append([])
            self.columns[level].append((node_id, block))
        self.col_w = [max(b.w for _, b in col) for col in self.columns]
        self.col_h = [sum(b.h for _, b in col) + GAP_Y * (len(col) - 1) for col in self.columns]
        self.w = sum(self.col_w) + 2 * GAP_X * max(len(self.columns) - 1, 0)
        self.h = max(self.col_h, default=0.0)

    def draw(self, x: float, y: float, out: Drawing) -> None:
        anchors: dict[str, tuple[float, float, float]] = {}  # id -> (left, right, middle y)
        cx = x
        for col, width, height in zip(self.columns, self.col_w, self.col_h, strict=True):
            cy = y + (self.h - height) / 2
            for node_id, block in col:
                block.draw(cx, cy, out)
                anchors[node_id] = (cx, cx + block.w, cy + block.h / 2)
                cy += block.h + GAP_Y
            cx += width + 2 * GAP_X
        for node_id, _, after in self.nodes:
            for parent in after:
                if parent in anchors and node_id in anchors:
                    _, right, py = anchors[parent]
                    left, _, ny = anchors[node_id]
                    out.edges.append(_arrow(right, py, left, ny))


def _sequence(tasks: Sequence[TaskBase]) -> Block:
    return Row([block_of(task) for task in tasks])


def _handlers(task: Flowable) -> list[tuple[str, Block]]:
    lanes: list[tuple[str, Block]] = []
    if task.errors:
        lanes.append(("errors", _sequence(task.errors)))
    if task.finally_:
        lanes.append(("finally", _sequence(task.finally_)))
    return lanes


def block_of(task: TaskBase) -> Block:
    """The block drawing one task (a frame with its branches for a flowable)."""
    kind = _short_type(task.type)
    if not isinstance(task, Flowable):
        return Leaf(task.id, kind)
    lanes: list[tuple[str, Block]]
    subtitle = kind
    if isinstance(task, IfTask):
        lanes = [("then", _sequence(task.then))]
        if task.else_:
            lanes.append(("else", _sequence(task.else_)))
        subtitle = f"If {task.condition}"
    elif isinstance(task, SwitchTask):
        lanes = [(f"case {name}", _sequence(tasks)) for name, tasks in task.cases.items()]
        if task.defaults:
            lanes.append(("defaults", _sequence(task.defaults)))
        subtitle = f"Switch {task.value}"
    elif isinstance(task, ForEachTask):
        limit = "all at once" if task.concurrencyLimit == 0 else f"{task.concurrencyLimit} at a time"
        lanes = [(f"for each value ({limit})", _sequence(task.tasks))]
        subtitle = "ForEach"
    elif isinstance(task, ParallelTask):
        lanes = [("", block_of(child)) for child in task.tasks]
    elif isinstance(task, DagTask):
        lanes = [("", Dag([(e.task.id, block_of(e.task), list(e.dependsOn)) for e in task.tasks]))]
    else:
        lanes = [("", _sequence(branch)) for branch in task.body() if branch]
    return Frame(task.id, subtitle, [*lanes, *_handlers(task)])


def count_tasks(flow: Flow) -> int:
    """How many tasks the drawing would hold."""
    return len(flow.all_tasks())


def layout_flow(flow: Flow) -> Drawing | None:
    """The drawing of a flow's topology; None when it has too many tasks to draw."""
    if count_tasks(flow) > MAX_TASKS:
        return None
    if flow.is_dag:
        main: Block = Dag([(t.id, block_of(t), list(t.dependsOn)) for t in flow.tasks])
    else:
        main = _sequence(flow.tasks)
    lanes: list[tuple[str, Block]] = [("", Row([Leaf("", "", "terminal"), main, Leaf("", "", "terminal")]))]
    for name, tasks in (
        ("errors", flow.errors),
        ("finally", flow.finally_),
        ("afterExecution", flow.afterExecution),
    ):
        if tasks:
            lanes.append((name, _sequence(tasks)))
    out = Drawing()
    y = PAD
    width = 0.0
    for name, block in lanes:
        if name:
            out.shapes.append(Shape("lane", PAD, y, block.w, LANE_LABEL, name))
            y += LANE_LABEL
        block.draw(PAD, y, out)
        y += block.h + GAP_Y * 2
        width = max(width, block.w)
    out.width = width + 2 * PAD
    out.height = y
    return out
