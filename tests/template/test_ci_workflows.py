"""The template's CI definitions run as written: each shell step of the GitHub Actions workflow and of the
GitLab CI jobs is executed here in a copy of the template (no runner is installable offline, so the steps
are run as the runner would: bash, the same environment variables). The comment steps run against small
stand-ins for the platforms' clients (GitHub's Octokit object in github-script, GitLab's `glab api`) that
record the calls, to check that a second push updates the one comment instead of adding another."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from daemon.reconcile.hashing import content_hash
from daemon.store import Store
from tests.server.served_api import served_api

TEMPLATE = Path(__file__).resolve().parents[2] / "flows-repo-template"
MARKER = "<!-- flowd-plan -->"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    target = tmp_path / "repo"
    shutil.copytree(TEMPLATE, target)
    return target


def bash(script: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, **env}
    # the `flowd` of this checkout (PYTHONPATH keeps a worktree's code first when one is used)
    full["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{full.get('PATH', '')}"
    return subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def expand(value: str, known: dict[str, str]) -> str:
    """Replace ``${{ name }}`` expressions of an env block with what the runner would give."""
    return re.sub(r"\$\{\{\s*([^}]+?)\s*\}\}", lambda m: known.get(m.group(1), ""), value)


def github_steps() -> list[dict[str, Any]]:
    workflow = yaml.safe_load((TEMPLATE / ".github" / "workflows" / "flows.yml").read_text())
    steps: list[dict[str, Any]] = workflow["jobs"]["check"]["steps"]
    return steps


def run_github_comment(step: dict[str, Any], cwd: Path, state: Path) -> None:
    """Run the github-script step's script with node against a recording stand-in of Octokit."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the github-script step cannot run")
    harness = """
const fs = require('fs');
const statePath = process.argv[2];
const state = fs.existsSync(statePath)
  ? JSON.parse(fs.readFileSync(statePath, 'utf8')) : {comments: [], next: 1};
const github = {
  rest: {issues: {
    listComments: 'listComments',
    createComment: async (a) => { state.comments.push({id: state.next++, body: a.body}); },
    updateComment: async (a) => { state.comments.find((c) => c.id === a.comment_id).body = a.body; },
  }},
  paginate: async (what, a) => state.comments.concat([{id: 999, body: 'an unrelated comment'}]),
};
const context = {repo: {owner: 'acme', repo: 'flows'}, issue: {number: 7}};
(async () => { SCRIPT })().then(() => {
  state.comments = state.comments.filter((c) => c.id !== 999);
  fs.writeFileSync(statePath, JSON.stringify(state));
});
""".replace("SCRIPT", step["with"]["script"])
    script = cwd / "comment.js"
    script.write_text(harness)
    done = subprocess.run(
        [node, str(script), str(state)], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_github_workflow_steps_run_and_keep_one_comment(work: Path, tmp_path: Path, store: Store) -> None:
    text = (work / "flows" / "tutorial" / "hello_world.yml").read_text()
    store.flows.deploy(
        "tutorial", "hello_world", source=text.replace("hello world", "hi"), hash=content_hash(text + "x"),
        path="tutorial/hello_world.yml", commit=None, now=datetime.now(UTC),
    )  # fmt: skip
    steps = github_steps()
    assert [s.get("id") for s in steps if "run" in s] == ["install", "validate", "test", "plan"]
    summary = tmp_path / "summary.md"
    state = tmp_path / "comments.json"
    with served_api(store, tmp_path / "daemon-home", token="t0k") as url:
        known = {
            "vars.FLOWD_URL": url, "secrets.FLOWD_API_TOKEN": "t0k", "runner.temp": str(tmp_path / "runner"),
        }  # fmt: skip
        for push in range(2):
            for step in steps:
                if step.get("id") == "install":
                    continue  # flowd is installed from this checkout already
                if "run" in step:
                    env = {k: expand(str(v), known) for k, v in step.get("env", {}).items()}
                    env["GITHUB_STEP_SUMMARY"] = str(summary)
                    done = bash(step["run"], work, env)
                    assert done.returncode == 0, (step["id"], done.stdout, done.stderr)
                elif step.get("id") == "comment":
                    run_github_comment(step, work, state)
            if push == 0:  # the second push changes a flow
                hello = work / "flows" / "tutorial" / "hello_world.yml"
                hello.write_text(hello.read_text().replace("format: hello world", "format: hello there"))
                (work / "flows" / "tutorial" / "hello_world.test.yml").write_text(
                    (work / "flows" / "tutorial" / "hello_world.test.yml")
                    .read_text()
                    .replace("equalTo: hello world", "equalTo: hello there")
                )
    report = (work / "reports" / "flow-tests.xml").read_text()
    assert 'failures="0"' in report and "returns_the_greeting" in report
    comments = json.loads(state.read_text())["comments"]
    assert len(comments) == 1, comments  # created on the first push, updated on the second
    body = comments[0]["body"]
    assert body.startswith(MARKER)
    assert "| update | `tutorial/hello_world` |" in body and "+    format: hello there" in body
    assert summary.read_text().count(MARKER) == 2


def test_github_workflow_fails_when_a_flow_test_fails(work: Path) -> None:
    test_step = next(s for s in github_steps() if s.get("id") == "test")
    case = work / "flows" / "tutorial" / "hello_world.test.yml"
    case.write_text(case.read_text().replace("equalTo: hello world", "equalTo: goodbye"))
    done = bash(test_step["run"], work, {"FLOWD_HOME": str(work / ".flowd")})
    assert done.returncode == 1
    assert 'equalTo: expected "goodbye"' in done.stdout and 'actual:  "hello world"' in done.stdout


FAKE_GLAB = r'''#!/usr/bin/env python3
"""A stand-in for `glab api` recording merge request notes in a JSON file."""
import json, os, sys
state_path = os.environ["FAKE_GLAB_STATE"]
state = json.load(open(state_path)) if os.path.exists(state_path) else {"notes": [], "next": 1}
args = sys.argv[1:]
assert args[0] == "api", args
method, fields, path = "GET", {}, None
i = 1
while i < len(args):
    if args[i] == "--method":
        method = args[i + 1]; i += 2
    elif args[i] == "--paginate":
        i += 1
    elif args[i] == "-F":
        key, _, value = args[i + 1].partition("=")
        fields[key] = open(value[1:]).read() if value.startswith("@") else value; i += 2
    else:
        path = args[i]; i += 1
assert path.startswith("projects/42/merge_requests/7/notes"), path
if method == "GET":
    print(json.dumps([{"id": 900, "body": "LGTM"}] + state["notes"]))
elif method == "POST":
    state["notes"].append({"id": state["next"], "body": fields["body"]}); state["next"] += 1
elif method == "PUT":
    note_id = int(path.rsplit("/", 1)[1])
    next(n for n in state["notes"] if n["id"] == note_id)["body"] = fields["body"]
json.dump(state, open(state_path, "w"))
'''


def test_gitlab_jobs_run_and_keep_one_note(work: Path, tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    ci = yaml.safe_load((work / ".gitlab-ci.yml").read_text())
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "glab").write_text(FAKE_GLAB)
    (bin_dir / "apk").write_text("#!/bin/sh\nexit 0\n")  # the glab image installs jq with apk; it is here
    for tool in ("glab", "apk"):
        (bin_dir / tool).chmod(0o755)
    env = {
        "CI_PIPELINE_SOURCE": "merge_request_event", "CI_PROJECT_DIR": str(work), "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7", "FAKE_GLAB_STATE": str(tmp_path / "notes.json"),
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
    }  # fmt: skip
    for _ in range(2):
        for job in ("flows", "plan-comment"):
            done = bash("\n".join(ci[job]["script"]), work, env)
            assert done.returncode == 0, (job, done.stdout, done.stderr)
    assert (work / "reports" / "flow-tests.xml").exists()
    notes = json.loads((tmp_path / "notes.json").read_text())["notes"]
    assert len(notes) == 1 and notes[0]["body"].startswith(MARKER)
    assert "### flowd plan: 11 to create" in notes[0]["body"]
