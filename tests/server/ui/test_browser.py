"""The UI in a real browser: ``flowd run`` as a subprocess over a folder of flows, Chromium driven by
Playwright. Screenshots of each page go to ``test-artifacts/ui/`` (gitignored).

Needs Debian's Chromium at /usr/bin/chromium and the ``playwright`` Python package (``.ci/browser-setup.sh``
installs both; ``playwright install`` is never used: no browser can be downloaded here).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.ui.flows_yaml import HELLO

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "ui"
WAIT_MS = 30_000  # upper bound for anything the page waits for (never a measured duration)

SLOW_SHELL = """
id: slow
namespace: company.ops
description: Sleeps thirty seconds, to be killed.
tasks:
  - id: nap
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo starting the nap
      - sleep 30
      - echo woke up
"""

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]


def _skip_reason() -> str | None:
    if sync_playwright is None:
        return "the playwright Python package is not installed (run .ci/browser-setup.sh)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (run .ci/browser-setup.sh: apt-get install chromium)"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _flowd() -> list[str]:
    found = shutil.which("flowd")
    return [found] if found else [sys.executable, "-c", "from daemon.cli.main import main; main()"]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``flowd run`` over a folder holding HELLO and SLOW_SHELL; yields its base URL."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    root = tmp_path_factory.mktemp("browser")
    flows = root / "flows"
    flows.mkdir()
    (flows / "hello.yml").write_text(textwrap.dedent(HELLO).lstrip())
    (flows / "slow.yml").write_text(textwrap.dedent(SLOW_SHELL).lstrip())
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWD_")}
    env["FLOWD_HOME"] = str(root / "home")
    log = (root / "daemon.log").open("w")
    process = subprocess.Popen(
        [*_flowd(), "run", "--source", str(flows), "--listen", f"127.0.0.1:{port}", "--interval", "1s"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # up to a minute for start-up and the first sync
            if process.poll() is not None:
                break
            try:
                if httpx.get(f"{base}/api/v1/flows/company.ops/slow", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        else:
            raise AssertionError("the daemon did not deploy the flows")
        if process.poll() is not None:
            raise AssertionError(f"flowd run exited: {(root / 'daemon.log').read_text()[-3000:]}")
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser(daemon: str) -> Iterator[Any]:
    assert sync_playwright is not None
    expect.set_options(timeout=WAIT_MS)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    try:
        yield tab
    finally:
        context.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_execute_from_the_form_and_watch(daemon: str, page: Page) -> None:
    page.goto(f"{daemon}/ui/flows")
    rows = page.locator("#flows tbody tr")
    expect(rows).to_have_count(2)
    _shot(page, "flows")
    page.get_by_role("link", name="company.team.hello").click()
    expect(page.locator("h1")).to_contain_text("hello")
    expect(page.locator("svg.topology")).to_contain_text("whisper")
    _shot(page, "flow")

    page.fill("#in-name", "Ada")
    page.fill("#in-count", "4")
    page.select_option("#in-loud", "true")
    page.select_option("#in-tags", ["b", "c"])
    page.click("#execute-button")
    page.wait_for_url("**/ui/executions/**")
    expect(page.locator("#live")).to_have_attribute("data-terminal", "true")
    expect(page.locator("#live")).to_have_attribute("data-state", "SUCCESS")
    expect(page.locator("svg.gantt g.row")).to_have_count(
        9
    )  # greet, each + 2 items, check + shout, both + left + right
    expect(page.locator("svg.gantt")).to_contain_text("item [v2]")
    expect(page.locator("#log-lines")).to_contain_text("hello Ada x4")
    expect(page.locator("#log-lines")).to_contain_text("LOUD")
    expect(page.locator("#inputs")).to_contain_text('"tags": [')
    _shot(page, "execution")


def test_input_error_is_shown_beside_the_input(daemon: str, page: Page) -> None:
    page.goto(f"{daemon}/ui/flows/company.team/hello")
    page.fill("#in-at", "2025-01-01T10:00:00")  # no time zone: the engine refuses it
    page.click("#execute-button")
    error = page.locator('small.error[data-input="at"]')
    expect(error).to_contain_text("time zone")
    expect(page.locator("#in-name")).to_have_value("world")
    _shot(page, "flow-input-error")


def test_follow_logs_live_and_kill(daemon: str, page: Page) -> None:
    page.goto(f"{daemon}/ui/flows/company.ops/slow")
    page.click("#execute-button")
    page.wait_for_url("**/ui/executions/**")
    expect(page.locator("#log-lines")).to_contain_text("starting the nap")  # pushed by the SSE stream
    expect(page.locator("#live")).to_have_attribute("data-state", "RUNNING")
    expect(page.locator('svg.gantt g.row[data-state="RUNNING"]')).to_have_count(1)
    expect(page.locator("#log-status")).to_have_text("following…")
    _shot(page, "execution-running")
    page.click("#kill-button")
    expect(page.locator("#live")).to_have_attribute("data-state", "KILLED")
    expect(page.locator("#kill-button")).to_have_count(0)
    expect(page.locator("#log-lines")).not_to_contain_text("woke up")
    _shot(page, "execution-killed")


def test_overview_and_syncs(daemon: str, page: Page) -> None:
    page.goto(f"{daemon}/ui/")
    expect(page.locator("#last-sync")).to_contain_text("SUCCESS")
    expect(page.locator("#next-runs")).to_contain_text("nightly")
    _shot(page, "overview")
    page.goto(f"{daemon}/ui/syncs")
    expect(page.locator("#syncs")).to_contain_text("company.team/hello")
    _shot(page, "syncs")
