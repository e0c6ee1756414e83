"""The status vocabulary has one owner, engine_core/fsm.pyx: its named sets are consistent with
the state table, and every place that cannot import them (SQL in store/ and the migrations, the
blotter's JS, the standalone client, any literal left in Python) spells one of them exactly."""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

import pytest

from engine_core import fsm
from service.client import cli as client

ROOT = Path(__file__).resolve().parents[3]
STATUSES = frozenset(fsm.STATUS_NAMES)
NAMED = {
    "STATUS_NAMES": STATUSES,
    "TERMINAL": fsm.TERMINAL,
    "RESTING": fsm.RESTING,
    "IN_ATTEMPT": fsm.IN_ATTEMPT,
    "LIVE": fsm.LIVE,
    "CANCELLABLE": fsm.CANCELLABLE,
    "UNSUBMITTED": fsm.UNSUBMITTED,
}
# The attempts table's own statuses (0001_init.sql), not an order's.
ATTEMPT_STATUSES = frozenset({"submitted", "landed", "failed"})


def _exits(status: str) -> set[str]:
    return {b for a, b in fsm.TRANSITIONS if a == status}


def _named(values: frozenset[str]) -> str | None:
    return next((name for name, s in NAMED.items() if s == values), None)


# -- the sets against the table --


def test_every_status_is_pending_live_or_terminal_exactly_once():
    parts = [frozenset({"pending"}), fsm.LIVE, fsm.TERMINAL]
    assert frozenset().union(*parts) == STATUSES
    assert sum(len(p) for p in parts) == len(STATUSES)


def test_terminal_is_exactly_the_statuses_without_exits():
    assert {s for s in STATUSES if not _exits(s)} == fsm.TERMINAL


def test_live_is_resting_and_in_attempt_apart():
    assert fsm.RESTING.isdisjoint(fsm.IN_ATTEMPT)
    assert fsm.LIVE == fsm.RESTING | fsm.IN_ATTEMPT


def test_cancellable_statuses_can_move_to_canceled():
    assert all("canceled" in _exits(s) for s in fsm.CANCELLABLE)
    assert fsm.CANCELLABLE.isdisjoint(fsm.IN_ATTEMPT | fsm.TERMINAL)


def test_resting_statuses_can_start_an_attempt_and_expire():
    assert all({"routing", "expired"} <= _exits(s) for s in fsm.RESTING)


def test_unsubmitted_is_the_attempt_before_its_transaction_is_sent():
    assert fsm.UNSUBMITTED < fsm.IN_ATTEMPT
    assert {b for a, b in fsm.TRANSITIONS if a in fsm.UNSUBMITTED} - fsm.UNSUBMITTED == {
        "submitted",
        "open",
        "partially_filled",
        "expired",
        "failed",
    }


def test_in_attempt_statuses_are_reached_only_through_routing():
    entered_from_outside = {
        b for a, b in fsm.TRANSITIONS if b in fsm.IN_ATTEMPT and a not in fsm.IN_ATTEMPT
    }
    assert entered_from_outside == {"routing"}


# -- SQL --

_SQL_IN = re.compile(r"status\s+(NOT\s+)?IN\s*\(([^)]*'[^)]*)\)")  # SQL: upper case, quoted


def _sql_lists() -> list[tuple[str, bool, frozenset[str]]]:
    files = sorted((ROOT / "service" / "store").rglob("*.sql"))
    files += sorted((ROOT / "service" / "store").rglob("*.py"))
    files += sorted((ROOT / "bench").rglob("*.py"))
    found = []
    for path in files:
        # joined string literals in Python ("... IN ('a'," " 'b')") read as one text
        text = re.sub(r"\"\s*\n\s*\"", "", path.read_text())
        for m in _SQL_IN.finditer(text):
            values = frozenset(re.findall(r"'([a-z_]+)'", m.group(2)))
            found.append((f"{path.relative_to(ROOT)}: {m.group(0)}", bool(m.group(1)), values))
    return found


def test_sql_status_lists_are_found():
    where = [w for w, _, _ in _sql_lists()]
    assert any("0001_init.sql" in w for w in where)
    assert any("0002_markets.sql" in w for w in where)
    assert any("store/orders.py" in w for w in where)


def _param_id(v: object) -> str:
    """A parameter's id, the same in every process (a set's order follows the hash seed;
    pytest-xdist's workers must collect the same ids)."""
    return ",".join(sorted(v)) if isinstance(v, frozenset) else str(v)[:60]


@pytest.mark.parametrize(("where", "negated", "values"), _sql_lists(), ids=_param_id)
def test_sql_status_list_is_a_named_set(where, negated, values):
    if values == ATTEMPT_STATUSES:
        return
    assert values <= STATUSES, where
    meant = STATUSES - values if negated else values
    assert _named(meant), f"{where}: {sorted(meant)} is none of fsm's named sets"


def test_resting_index_matches_the_resting_query():
    """The partial index is used only when the query's predicate is the index's."""
    index = (ROOT / "service/store/migrations/0001_init.sql").read_text()
    store = (ROOT / "service/store/orders.py").read_text()
    (index_list,) = re.findall(r"orders_resting .*WHERE status IN \(([^)]*)\)", index)
    (query_list,) = re.findall(r"status IN \(([^)]*)\)", store)
    assert set(re.findall(r"'(\w+)'", index_list)) == fsm.RESTING
    assert set(re.findall(r"'(\w+)'", query_list)) == fsm.RESTING


# -- the blotter's JS and the standalone client --


def blotter_js() -> str:
    """The blotter's scripts (app.js and the others), in the order index.html loads them."""
    static = ROOT / "service/api/static"
    names = re.findall(r'<script src="/static/([\w.-]+\.js)"', (static / "index.html").read_text())
    return "\n".join((static / name).read_text() for name in names)


def test_blotter_js_terminal_set_is_fsm_terminal():
    js = blotter_js()
    sets = re.findall(r"const (FINAL|TERMINAL) = new Set\(\[([^\]]*)\]\)", js)
    assert len(sets) == 1, sets
    assert frozenset(re.findall(r"\"(\w+)\"", sets[0][1])) == fsm.TERMINAL


def test_blotter_js_status_literals_are_known_statuses():
    js = blotter_js()
    for m in re.finditer(r"status\s*(?:===|!==|==|!=)\s*\"(\w+)\"", js):
        assert m.group(1) in STATUSES, m.group(0)


def test_blotter_css_colours_resting_and_terminal_statuses_only_by_known_names():
    css = (ROOT / "service/api/static/style.css").read_text()
    styled = set(re.findall(r'data-status="(\w+)"', css))
    assert styled and styled <= STATUSES
    assert fsm.TERMINAL | fsm.RESTING <= styled


def test_client_status_constants_match_fsm():
    assert tuple(client.STATUSES) == fsm.STATUS_NAMES
    terminal = getattr(client, "TERMINAL", None) or client.FINAL
    assert frozenset(terminal) == fsm.TERMINAL


# -- Python literals --


def _is_path(values: list[str]) -> bool:
    """A walk through the table (e.g. the market order's six statuses), not a set."""
    return len(values) > 2 and all(fsm.allowed(a, b) for a, b in itertools.pairwise(values))


def _python_status_literals() -> list[tuple[str, list[str]]]:
    found = []
    for path in sorted([*(ROOT / "service").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Tuple | ast.List | ast.Set):
                continue
            values = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            if len(values) < 2 or len(values) != len(node.elts):
                continue
            if all(isinstance(v, str) and v in STATUSES for v in values):
                found.append((f"{path.relative_to(ROOT)}:{node.lineno}", values))
    return found


def test_python_status_literals_are_found():
    # the client's STATUSES at least (it does not import engine_core)
    assert any("client/cli.py" in where for where, _ in _python_status_literals())


@pytest.mark.parametrize(("where", "values"), _python_status_literals(), ids=_param_id)
def test_python_status_literal_is_a_named_set_or_a_path(where, values):
    assert _is_path(values) or _named(frozenset(values)), (
        f"{where}: {values} is none of fsm's named sets: import one from engine_core.fsm"
    )
