"""A newcomer's first hour, trap by trap (issue 18): each one is run for real and must end in
the clear outcome: the embedded servers used and said so, or one line naming the cause and
the setting, and a non-zero exit within 10 s; the CLI, the blotter and reset doing what the
README says."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REDIS_URL
from tests.helpers.engine import Engine, engine_command, free_port, running_engine, wait_until_up

pytestmark = pytest.mark.e2e

SERVER_VARS = ("DATABASE_URL", "REDIS_URL", "REDIS_HOST", "REDIS_PORT", "EMBEDDED_DATA_DIR")
CLI = [sys.executable, "-m", "service"]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def bare_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no server named at all."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in SERVER_VARS and not k.startswith("POSTGRES_")
    }
    env.update(
        {
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "WS_PORT": str(free_port()),
            "WORKERS": "1",
            "API_WORKERS": "1",
            "LOG_LEVEL": "INFO",
            "LOG_FORMAT": "text",
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
            **extra,
        }
    )
    return env


def fails_fast(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """Run a command that must fail at start: its exit code and its last stderr line, which
    must be the whole story (no traceback), within 10 s."""
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=10)
    assert time.monotonic() - started < 10
    assert proc.returncode != 0, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stderr.strip().splitlines()[-1]


def test_a_password_without_a_host_is_refused_naming_both(tmp_path: Path) -> None:
    env = bare_env(tmp_path, POSTGRES_PASSWORD="secret")
    code, line = fails_fast([*CLI, "up"], env, tmp_path)
    assert code == 2
    assert "POSTGRES_PASSWORD" in line and "POSTGRES_HOST" in line and "DATABASE_URL" in line
    assert not (tmp_path / ".data").exists()  # nothing was started, nothing migrated


def test_nothing_named_runs_embedded_servers_and_says_so_first(tmp_path: Path) -> None:
    env = bare_env(tmp_path)
    log = tmp_path / "up.log"
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            engine_command(), cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    eng = Engine(f"http://127.0.0.1:{env['PORT']}", f"ws://127.0.0.1:{env['WS_PORT']}", proc, log)
    try:
        wait_until_up(eng)
        print(f"order-engine up -> /health 200 in {time.monotonic() - started:.1f} s (embedded)")
        first = [line for line in log.read_text().splitlines() if line.strip()][:2]
        assert "PostgreSQL: embedded" in first[0] and "no DATABASE_URL" in first[0], first
        assert "Redis: embedded" in first[1], first
        assert (tmp_path / ".data" / "postgres").is_dir()
        assert "order engine up" in log.read_text()
    finally:
        proc.terminate()
        assert proc.wait(timeout=60) == 0, log.read_text()[-3000:]


@pytest.mark.parametrize("variable", ["PORT", "WS_PORT"])
def test_a_busy_port_ends_up_at_once_naming_the_setting(tmp_path: Path, variable: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = bare_env(tmp_path, **{variable: str(port)})
        code, line = fails_fast([*CLI, "up"], env, tmp_path)
    assert code == 3
    assert f"port {port} ({variable}) is already in use" in line and f"set {variable}" in line
    assert not (tmp_path / ".data").exists()  # checked before the embedded servers start


@pytest.mark.parametrize("command", ["up", "migrate", "api", "worker", "relay"])
def test_an_unreachable_postgresql_is_one_line_with_the_url(tmp_path: Path, command: str) -> None:
    url = f"postgresql://engine:secret@127.0.0.1:{free_port()}/orders"
    env = bare_env(tmp_path, DATABASE_URL=url, REDIS_URL=REDIS_URL)
    code, line = fails_fast([*CLI, command], env, tmp_path)
    assert code == 3
    assert "cannot reach PostgreSQL at postgresql://engine:***@127.0.0.1" in line, line
    assert "secret" not in line and "from DATABASE_URL" in line and "embedded" in line


def test_an_unreachable_redis_is_one_line_with_the_url(tmp_path: Path, base_dsn: str) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    env = bare_env(tmp_path, DATABASE_URL=base_dsn, REDIS_URL=url)
    code, line = fails_fast([*CLI, "up"], env, tmp_path)
    assert code == 3 and f"cannot reach Redis at {url} (from REDIS_URL)" in line, line


def test_the_supervisor_stops_a_child_that_fails_the_same_way_at_start(
    tmp_path: Path, base_dsn: str
) -> None:
    """The API child alone, on a port that is taken: it fails at start each time, and after
    three times the supervisor gives up and says so instead of restarting it for ever."""
    from service.config import Settings
    from service.runtime.supervisor import Child, Supervisor

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = bare_env(
            tmp_path,
            DATABASE_URL=base_dsn,
            REDIS_URL=REDIS_URL,
            PORT=str(taken.getsockname()[1]),
        )
        script = (
            "import sys\n"
            "from service.config import Settings\n"
            "from service.runtime.supervisor import Child, Supervisor\n"
            "sup = Supervisor(Settings.from_env(), workers_only=True)\n"
            "sup.children = [Child('api', ['api'])]\n"
            "sys.exit(sup.run())\n"
        )
        assert Settings and Child and Supervisor  # what the script runs
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
        )
    assert proc.returncode == 3, proc.stderr[-2000:]
    assert "api failed at start 3 times in a row" in proc.stderr
    assert proc.stderr.count("(PORT) is already in use") == 3
    print(f"gave up after {time.monotonic() - started:.1f} s")


def cli(engine: Engine, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ENGINE_URL": engine.http, "ENGINE_WS_URL": engine.ws}
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


def test_the_cli_shows_what_a_newcomer_looks_for(engine: Engine) -> None:
    client = f"first-{uuid.uuid4().hex[:6]}"
    market = cli(engine, "submit", "--client-id", client, "--symbol", "SOL/USDC", "--side", "buy",
                 "--amount", "1.5", "--watch")  # fmt: skip
    assert market.returncode == 0, market.stderr
    assert "timeInForce" not in market.stdout  # a market order has none
    limit = cli(engine, "submit", "--client-id", client, "--symbol", "SOL/USDC", "--side", "buy",
                "--amount", "2", "--type", "limit", "--limit-price", "100", "--json")  # fmt: skip
    assert limit.returncode == 0, limit.stderr
    orders = cli(engine, "orders", "--client-id", client)
    header, *rows = orders.stdout.splitlines()
    assert header.split()[:8] == ["ID", "CREATED", "SYMBOL", "SIDE", "TYPE", "AMOUNT", "LIMIT",
                                  "FILLED"]  # fmt: skip
    assert any("100.000" in r.split() for r in rows), orders.stdout
    filled = next(r for r in rows if "filled" in r.split())
    avg = filled.split()[-2]  # the empty limit and error cells collapse in split()
    assert len(avg.replace(".", "").lstrip("0")) <= 6, filled  # USDC: 6 significant digits
    # watch from a pipe (no terminal on stdin or stdout): the rows name symbol, side, type
    env = {**os.environ, "ENGINE_URL": engine.http, "ENGINE_WS_URL": engine.ws}
    watching = subprocess.Popen(
        [*CLI, "watch", "--client-id", client, "--timeout", "8"], env=env, text=True,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(2)
    sell = cli(engine, "submit", "--client-id", client, "--symbol", "SOL/USDC", "--side",
               "sell", "--amount", "1", "--type", "limit", "--limit-price", "1000")  # fmt: skip
    assert sell.returncode == 0, sell.stderr
    out, err = watching.communicate(timeout=30)
    assert watching.returncode == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:5] == ["ID", "SYMBOL", "SIDE", "TYPE", "STATUS"], out
    assert any(line.split()[1:4] == ["SOL/USDC", "sell", "limit"] for line in lines[2:]), out


def test_reset_starts_the_simulated_market_again(
    pg_database: str, redis_prefix: str, tmp_path: Path
) -> None:
    """The sniper example works once (PUMP/SOL stays launched), a changed markets file is
    refused naming the market, and `reset` makes both work again."""
    launch = {"symbol": "PUMP/SOL", "venue": "raydium", "baseReserve": "1000000",
              "quoteReserve": "1000"}  # fmt: skip
    with running_engine(pg_database, redis_prefix, tmp_path) as eng:
        assert eng.request("POST", "/sim/launch", launch)[0] == 200
        assert eng.request("POST", "/sim/launch", launch)[0] == 409
    env = {**os.environ, "DATABASE_URL": pg_database, "REDIS_PREFIX": redis_prefix,
           "REDIS_URL": REDIS_URL}  # fmt: skip
    changed = tmp_path / "markets.toml"
    default = Path(__file__).resolve().parents[2] / "service" / "domain" / "markets.toml"
    changed.write_text(
        default.read_text().replace('reference_price = "150"', 'reference_price = "151"')
    )
    code, line = fails_fast([*CLI, "migrate"], {**env, "MARKETS_FILE": str(changed)}, tmp_path)
    assert code == 2 and "markets.toml changed for SOL/USDC" in line, line
    assert "order-engine reset" in line

    refused = subprocess.run([*CLI, "reset"], env=env, capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=30)  # fmt: skip
    assert refused.returncode == 2 and "--yes" in refused.stderr
    done = subprocess.run([*CLI, "reset", "--yes"], env={**env, "MARKETS_FILE": str(changed)},
                          capture_output=True, text=True, timeout=30)  # fmt: skip
    assert done.returncode == 0, done.stderr
    with running_engine(pg_database, redis_prefix, tmp_path, MARKETS_FILE=str(changed)) as eng:
        status, body, _ = eng.request("POST", "/sim/launch", launch)
        assert status == 200, body
        _, markets, _ = eng.request("GET", "/markets")
        sol = next(m for m in markets["markets"] if m["symbol"] == "SOL/USDC")
        assert sol["referencePrice"].startswith("151")


def test_the_blotter_remembers_the_client_and_explains_a_resting_limit(
    engine: Engine, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    client = f"user-{uuid.uuid4().hex[:6]}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            bypass_csp=True,  # wait_for_function evaluates a string; the page's CSP has no eval
        )
        try:
            page = browser.new_page()
            page.goto(f"{engine.http}/?clientId={client}")
            page.wait_for_selector("#t-symbol option[value='SOL/USDC']", state="attached")
            page.goto(engine.http + "/")  # no ?clientId= now: remembered
            assert page.input_value("#client-id") == client
            assert f"clientId={client}" in page.url
            page.wait_for_selector("#t-symbol option[value='SOL/USDC']", state="attached")
            page.select_option("#t-symbol", "SOL/USDC")
            page.select_option("#t-type", "limit")
            page.fill("#t-amount", "5")
            page.fill("#t-limit", "100")
            page.wait_for_function(
                "document.querySelector('#t-preview').textContent.includes('rests')",
                timeout=10_000,
            )
            text = page.text_content("#t-preview") or ""
            assert "nothing fills now" in text and "rests: 5 SOL at 100" in text, text
            assert "via" not in text  # not a market quote
        finally:
            browser.close()
