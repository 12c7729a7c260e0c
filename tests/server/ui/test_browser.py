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
    expect(page.locator(".gantt .row")).to_have_count(
        9
    )  # greet, each + 2 items, check + shout, both + left + right
    expect(page.locator(".gantt")).to_contain_text("item [v2]")
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
    expect(page.locator('.gantt .row[data-state="RUNNING"]')).to_have_count(1)
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
    # the daemon polls every second: the polls that changed nothing are counted on the row before
    expect(page.locator("#syncs .unchanged").first).to_contain_text("unchanged since")
    _shot(page, "syncs")


# --- the operator's console -------------------------------------------------------------------------
PAGES = ["/ui/", "/ui/flows", "/ui/executions", "/ui/logs", "/ui/triggers", "/ui/syncs",
         "/ui/flows/company.team/hello"]  # fmt: skip


def _run_hello(daemon: str) -> str:
    response = httpx.post(f"{daemon}/api/v1/executions/company.team/hello?wait=true", timeout=60)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def test_executions_page_filters_and_bulk_delete(daemon: str, page: Page) -> None:
    first, second = _run_hello(daemon), _run_hello(daemon)
    page.goto(f"{daemon}/ui/executions")
    expect(page.locator("#executions tbody tr")).not_to_have_count(0)
    page.locator('input[name="state"][value="SUCCESS"]').check()
    page.fill('input[name="namespace"]', "company.team")
    page.click("#apply-filters")
    page.wait_for_url("**/ui/executions?*state=SUCCESS*")
    assert "namespace=company.team" in page.url  # the filter is in the URL: shareable
    expect(page.locator(f'#executions tr:has(input[value="{first}"])')).to_have_count(1)
    _shot(page, "executions")
    page.locator("#select-all").check()  # the script shows "select all"
    page.locator(f'input[name="ids"][value="{first}"]').uncheck()
    page.click("#bulk-delete")
    expect(page.locator("h1")).to_contain_text("Delete")
    expect(page.locator("#confirm")).to_contain_text(second[:12])
    expect(page.locator("#confirm")).not_to_contain_text(first[:12])
    _shot(page, "executions-confirm-delete")
    page.click("#confirm-button")
    expect(page.locator("#done")).to_contain_text("Delete:")
    assert "state=SUCCESS" in page.url
    expect(page.locator(f'input[name="ids"][value="{second}"]')).to_have_count(0)
    expect(page.locator(f'input[name="ids"][value="{first}"]')).to_have_count(1)
    _shot(page, "executions-after-delete")


def test_logs_page_search_and_follow(daemon: str, page: Page) -> None:
    execution_id = _run_hello(daemon)
    page.goto(f"{daemon}/ui/logs?q=hello")
    expect(page.locator("#log-hits")).to_contain_text("hello")
    expect(page.locator(f'#log-hits a[href="/ui/executions/{execution_id}"]').first).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("following new lines")
    newer = _run_hello(daemon)  # the page follows: lines of a new execution appear without a reload
    expect(page.locator(f'#log-hits a[href="/ui/executions/{newer}"]').first).to_be_visible()
    _shot(page, "logs")
    page.locator(f'#log-hits a[href="/ui/executions/{execution_id}"]').first.click()
    page.wait_for_url(f"**/ui/executions/{execution_id}")


def test_triggers_page_disable_survives_a_sync(daemon: str, page: Page) -> None:
    page.goto(f"{daemon}/ui/triggers")
    row = page.locator('tr[data-trigger="company.team.hello.nightly"]')
    expect(row).to_contain_text("enabled")
    row.get_by_role("button", name="Disable").click()
    expect(page.locator("#message")).to_contain_text("kept across syncs")
    synced = httpx.post(f"{daemon}/api/v1/sync", timeout=60)  # a sync now, besides the daemon's own polls
    assert synced.status_code == 200, synced.text
    page.goto(f"{daemon}/ui/triggers")
    row = page.locator('tr[data-trigger="company.team.hello.nightly"]')
    expect(row).to_contain_text("disabled")
    expect(row.locator(".override")).to_contain_text("the Git source enables it")
    _shot(page, "triggers-disabled")
    row.get_by_role("button", name="Enable").click()
    expect(page.locator("#message")).to_contain_text("enabled")
    row = page.locator('tr[data-trigger="company.team.hello.nightly"]')
    row.locator("summary").click()
    row.locator('input[name="start"]').fill("2025-01-01T00:00")
    row.locator('input[name="end"]').fill("2025-01-03T00:00")
    row.get_by_role("button", name="Backfill").click()
    expect(page.locator("#message")).to_contain_text("2 tick(s)")
    _shot(page, "triggers")


def test_pages_without_javascript_and_at_1024px(daemon: str, browser: Any) -> None:
    _run_hello(daemon)
    context = browser.new_context(viewport={"width": 1024, "height": 900}, java_script_enabled=False)
    tab = context.new_page()
    try:
        for path in [*PAGES, "/ui/executions?range=all"]:
            tab.goto(f"{daemon}{path}")
            expect(tab.locator("main h1")).to_be_visible()
            width = tab.evaluate("document.documentElement.scrollWidth")
            assert width <= 1024, f"{path} scrolls horizontally at 1024 px ({width} px)"
        tab.goto(f"{daemon}/ui/executions?range=all")
        expect(tab.locator("#executions tbody tr").first).to_contain_text("hello")
        _shot(tab, "executions-no-js-1024")
        tab.goto(f"{daemon}/ui/logs")
        _shot(tab, "logs-no-js-1024")
        execution = tab.locator("#log-hits a.exec").first.get_attribute("href")
        assert execution
        tab.goto(f"{daemon}{execution}")
        width = tab.evaluate("document.documentElement.scrollWidth")
        assert width <= 1024, f"the execution page scrolls horizontally at 1024 px ({width} px)"
        _shot(tab, "execution-1024")
    finally:
        context.close()


def test_overview_at_1400px_and_dark_mode(daemon: str, browser: Any) -> None:
    _run_hello(daemon)
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme="dark")
    tab = context.new_page()
    try:
        tab.goto(f"{daemon}/ui/?period=7d")
        expect(tab.locator("#chart svg.bars rect").first).to_be_attached()
        chart = tab.locator("#chart svg.bars").bounding_box()
        card = tab.locator("#chart").bounding_box()
        assert chart and card and chart["width"] >= card["width"] - 40  # the card's width, not 720 px
        assert tab.evaluate("document.documentElement.scrollWidth") <= 1400
        card_js = "document.querySelector('#next-runs')"
        clipped = tab.evaluate(f"{card_js}.scrollWidth > {card_js}.clientWidth")
        assert not clipped, "the next scheduled runs overflow their card"
        background = tab.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 20, 26)"  # prefers-color-scheme: dark
        _shot(tab, "overview-dark-7d")
    finally:
        context.close()


def test_a_post_without_the_csrf_token_is_refused(daemon: str) -> None:
    execution_id = _run_hello(daemon)
    refused = httpx.post(f"{daemon}/ui/executions/{execution_id}/restart", timeout=10)
    assert refused.status_code == 403
    assert httpx.get(f"{daemon}/ui/executions/{execution_id}/restart", timeout=10).status_code == 405


def test_gantt_fills_the_card_zooms_and_shows_each_tasks_logs(daemon: str, page: Page) -> None:
    execution_id = _run_hello(daemon)
    page.goto(f"{daemon}/ui/executions/{execution_id}")
    chart = page.locator("#gantt .gantt")
    expect(chart.locator(".row").first).to_be_visible()
    card = page.locator("#gantt").bounding_box()
    box = chart.bounding_box()
    assert card and box and box["width"] >= card["width"] - 40  # the card's width, not a fixed 720 px
    greet = page.locator("#gantt details.attempt-logs").first
    greet.locator("summary").click()
    expect(greet).to_contain_text("hello world")
    _shot(page, "gantt")
    page.locator(".gantt .row .g-label a", has_text="each").click()
    page.wait_for_url("**zoom=**")
    expect(page.locator(".gantt-note")).to_contain_text("Zoomed on")
    _shot(page, "gantt-zoomed")
    page.click("#unzoom")
    expect(page.locator(".gantt-note")).not_to_contain_text("Zoomed on")
