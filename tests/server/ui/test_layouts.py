"""Pure parts of the pages: topology drawing, the Execute form, the hourly chart, the namespace tree."""

from __future__ import annotations

from datetime import UTC, datetime

from daemon.language import load_flow
from daemon.server.ui.charts import hourly_chart
from daemon.server.ui.flows import namespace_tree
from daemon.server.ui.forms import build_fields, form_values
from daemon.server.ui.topology import layout_flow
from tests.server.ui.flows_yaml import DAG, HELLO

SWITCH_DAG = """
id: routes
namespace: t
tasks:
  - id: route
    type: io.kestra.plugin.core.flow.Switch
    value: "A"
    cases:
      A:
        - id: on_a
          type: io.kestra.plugin.core.log.Log
          message: a
    defaults:
      - id: other
        type: io.kestra.plugin.core.log.Log
        message: o
  - id: graph
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task:
          id: one
          type: io.kestra.plugin.core.log.Log
          message: "1"
      - task:
          id: two
          type: io.kestra.plugin.core.log.Log
          message: "2"
        dependsOn: [one]
errors:
  - id: alert
    type: io.kestra.plugin.core.log.Log
    message: failed
"""


def test_dag_flow_in_columns() -> None:
    drawing = layout_flow(load_flow(DAG))
    assert drawing is not None
    boxes = {s.title: s for s in drawing.shapes if s.kind == "task"}
    assert boxes["extract"].x < boxes["transform"].x < boxes["load"].x
    assert len(drawing.edges) == 2 + 2


def test_flowables_are_frames_with_lanes() -> None:
    drawing = layout_flow(load_flow(SWITCH_DAG))
    assert drawing is not None
    frames = {s.title: s for s in drawing.shapes if s.kind == "flowable"}
    lanes = [s.title for s in drawing.shapes if s.kind == "lane"]
    assert set(frames) == {"route", "graph"}
    assert lanes == ["case A", "defaults", "errors"]
    boxes = {s.title: s for s in drawing.shapes if s.kind == "task"}
    inside = frames["route"]
    for task_id in ("on_a", "other"):
        box = boxes[task_id]
        assert inside.x < box.x and box.x + box.w < inside.x + inside.w
        assert inside.y < box.y and box.y + box.h < inside.y + inside.h
    assert boxes["one"].x < boxes["two"].x
    assert drawing.width >= max(s.x + s.w for s in drawing.shapes)


def test_form_fields_and_values() -> None:
    flow = load_flow(HELLO)
    fields = {f.id: f for f in build_fields(flow.inputs)}
    assert fields["name"].widget == "text" and fields["name"].value == "world"
    assert fields["count"].widget == "number" and fields["count"].step == "1"
    assert fields["tags"].widget == "multiselect" and fields["tags"].selected == {"a"}
    assert fields["loud"].widget == "boolean" and fields["loud"].value == "false"
    assert fields["payload"].widget == "textarea" and '"k": 1' in fields["payload"].value
    assert fields["at"].widget == "text" and fields["at"].placeholder.endswith("Z")
    assert not fields["name"].required and not fields["day"].required
    again = {f.id: f for f in build_fields(flow.inputs, {"count": "x"}, {"count": "input 'count': bad"})}
    assert again["count"].value == "x" and again["count"].error == "input 'count': bad"
    values = form_values(
        {"name": "", "count": "", "tags": "b", "unknown": "1", "loud": ["true"]}, flow.inputs
    )
    assert values == {"name": "", "tags": ["b"], "loud": "true"}


def test_hourly_chart_stacks_states() -> None:
    now = datetime(2025, 1, 2, 12, 30, tzinfo=UTC)
    buckets = [{} for _ in range(24)]
    buckets[23] = {"SUCCESS": 3, "FAILED": 1}
    buckets[0] = {"SUCCESS": 2}
    chart = hourly_chart(buckets, now=now, width=240, plot_height=100)
    last = [s for s in chart.segments if s.x > 200]
    assert [s.state for s in last] == ["SUCCESS", "FAILED"]  # success at the bottom
    assert [s.h for s in last] == [75.0, 25.0] and last[1].y == 0.0
    assert chart.totals == {"SUCCESS": 5, "FAILED": 1} and chart.peak == 4
    assert chart.labels[0] == (0.6, "12:30")  # a bar's gap is 12 % of its slot, half on each side


def test_namespace_tree_adds_parents() -> None:
    assert namespace_tree({"a.b": 2, "a.c.d": 1, "z": 1}) == [
        ("a", "a", 0, 3),
        ("a.b", "b", 1, 2),
        ("a.c", "c", 1, 1),
        ("a.c.d", "d", 2, 1),
        ("z", "z", 0, 1),
    ]


def test_yaml_highlighting_marks_keys_values_and_escapes() -> None:
    from daemon.server.ui.yaml_highlight import highlight_yaml

    source = 'id: a # note\ntasks:\n  - id: "<b>"\n    n: 2\n    on: true\n    m: {{ x }}\n'
    html = str(highlight_yaml(source))
    assert '<span class="hl-key">id</span>: a <span class="hl-com"># note</span>' in html
    assert '<span class="hl-str">&#34;&lt;b&gt;&#34;</span>' in html and "<b>" not in html
    assert '<span class="hl-num">2</span>' in html and '<span class="hl-kw">true</span>' in html
    assert '<span class="hl-expr">{{ x }}</span>' in html
    assert html.count("\n") == 5  # line for line
