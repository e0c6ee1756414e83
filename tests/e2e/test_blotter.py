"""The web blotter in headless Chromium (Debian's /usr/bin/chromium driven by Playwright for
Python; no browser download): open the page the API serves, submit a market order from the
ticket, see it reach `filled` in the live table, fed by the WebSocket. Also the docs page.

Screenshots are kept as test artifacts in the test's tmp_path (printed; `pytest -s` shows
them), never committed. A missing browser or Playwright fails the test: CI installs both.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, sync_playwright

from tests.helpers.engine import Engine

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def test_blotter_ticket_order_reaches_filled_in_the_live_table(
    engine: Engine, tmp_path: Path
) -> None:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} is missing: apt-get install chromium"
    client = f"blotter-{uuid.uuid4().hex[:6]}"
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            problems.append(f"console: {msg.text}")

    with sync_playwright() as pw:
        # A fresh profile directory per run (Playwright passes it as --user-data-dir).
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 1300, "height": 900},
        )
        try:
            page = browser.new_page()
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("console", on_console)

            page.goto(f"{engine.http}/?clientId={client}")
            page.wait_for_selector('body[data-ready="1"]', timeout=15_000)
            page.wait_for_selector('#ws-state[data-state="live"]', timeout=10_000)
            assert page.input_value("#client-id") == client
            # The chart has both venues of the market (GET /markets, once a second).
            page.select_option("#t-symbol", "SOL/USDC")
            page.select_option("#c-symbol", "SOL/USDC")
            page.wait_for_selector('#legend .legend-item[data-venue="raydium"]', timeout=5_000)
            page.wait_for_selector('#legend .legend-item[data-venue="meteora"]', timeout=5_000)

            page.check("input[name=side][value=buy]")
            page.select_option("#t-type", "market")
            page.fill("#t-amount", "0.5")
            page.click("#t-submit")
            page.wait_for_selector('#t-message[data-kind="ok"]', timeout=10_000)
            row = page.locator('#orders tbody tr[data-status="filled"]')
            row.wait_for(timeout=30_000)
            order_id = row.get_attribute("data-order-id")
            assert order_id
            # The table was moved along by the client's WebSocket stream, not by reloading.
            assert page.evaluate("state.lastEventId") is not None
            cells = row.locator("td").all_inner_texts()
            assert "SOL/USDC" in cells and "buy" in cells and "0.5" in cells, cells
            page.wait_for_timeout(1_200)  # one more chart point
            page.screenshot(path=str(tmp_path / "blotter.png"))

            status, order, _ = engine.request("GET", f"/orders/{order_id}")
            assert status == 200 and order["status"] == "filled", order
            assert order["clientId"] == client and order["amount"] == "0.5"

            # The docs page renders every operation of /openapi.json.
            _, doc, _ = engine.request("GET", "/openapi.json")
            ops = {
                (m, p)
                for p, item in doc["paths"].items()
                for m in item
                if m in ("get", "post", "put", "patch", "delete")
            }
            page.goto(f"{engine.http}/docs")
            page.wait_for_selector('body[data-ready="1"]', timeout=15_000)
            shown = page.eval_on_selector_all(
                "section.op[data-method]", "els => els.map(e => [e.dataset.method, e.dataset.path])"
            )
            assert {(m, p) for m, p in shown} == ops
            page.screenshot(path=str(tmp_path / "docs.png"))
        finally:
            browser.close()
    assert not problems, problems
    print(f"screenshots: {tmp_path / 'blotter.png'} {tmp_path / 'docs.png'}")
