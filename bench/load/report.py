"""The figures of a load run: engine beside its bare twin, as ratios, printed as a table."""

from __future__ import annotations

from typing import Any


def ratio(a: float | None, b: float | None) -> float | None:
    if not a or not b:
        return None
    return round(a / b, 2)


def figures(E: dict[str, Any], B: dict[str, Any]) -> list[dict[str, Any]]:
    """(target, engine, baseline, ratio) rows."""
    rows: list[dict[str, Any]] = []

    def add(target: str, unit: str, e: Any, b: Any, goal: str) -> None:
        rows.append(
            {
                "target": target,
                "goal": goal,
                "unit": unit,
                "engine": e,
                "baseline": b,
                "ratio": ratio(e, b),
            }
        )

    g = lambda d, *ks: _get(d, ks)  # noqa: E731
    if "rest" in E:
        add(
            "REST accepted (flat out)",
            "orders/s",
            g(E, "rest", "accepted_per_s"),
            g(B, "rest", "accepted_per_s"),
            ">= 5,000",
        )
        add(
            "REST accept p99 (flat out)",
            "ms",
            g(E, "rest", "accept_ms", "p99"),
            g(B, "rest", "accept_ms", "p99"),
            "",
        )
        add("REST filled (flat out)", "orders/s", g(E, "rest", "filled_per_s"), None, "")
        api_cpu = api_cpu_split(g(E, "rest", "cpu_s"))
        if api_cpu:
            add("REST API CPU, busiest process", "s", api_cpu[0], None, "")
            add("REST API CPU, idlest process", "s", api_cpu[1], None, "")
    if "wrk" in E:
        add(
            "REST accepted, wrk -t1 -c64",
            "orders/s",
            g(E, "wrk", "accepted_per_s"),
            g(B, "wrk", "accepted_per_s"),
            ">= 0.9 of bare",
        )
        add(
            "REST wrk latency p99",
            "ms",
            g(E, "wrk", "latency_ms", "p99"),
            g(B, "wrk", "latency_ms", "p99"),
            "",
        )
        add("REST wrk filled meanwhile", "orders/s", g(E, "wrk", "filled_per_s"), None, "")
        add("REST wrk filled / accepted", "", g(E, "wrk", "filled_of_accepted"), None, ">= 0.9")
        api_cpu = api_cpu_split(g(E, "wrk", "cpu_s"))
        if api_cpu:
            add("REST wrk API CPU, busiest process", "s", api_cpu[0], None, "")
            add("REST wrk API CPU, idlest process", "s", api_cpu[1], None, "")
    if "batch" in E:
        add(
            "batch entry accepted (100 a request)",
            "orders/s",
            g(E, "batch", "accepted_per_s"),
            g(B, "batch", "accepted_per_s"),
            ">= 10,000",
        )
        add(
            "batch entry vs bare single POSTs",
            "orders/s",
            g(E, "batch", "accepted_per_s"),
            g(B, "rest", "accepted_per_s"),
            ">= 6x",
        )
        add("batch entry filled", "orders/s", g(E, "batch", "filled_per_s"), None, "")
        add(
            "batch orders missing an event",
            "orders",
            g(E, "batch", "orders_missing_events"),
            None,
            "0",
        )
    if "rest_1000" in E:
        add(
            "REST accept p99 at 1,000/s",
            "ms",
            g(E, "rest_1000", "accept_ms", "p99"),
            g(B, "rest_1000", "accept_ms", "p99"),
            "< 10",
        )
        add(
            "submit->filled p99 at 1,000/s",
            "ms",
            g(E, "rest_1000", "submit_to_filled_ms", "p99"),
            None,
            "< 50",
        )
    if "queued" in E:
        add(
            "engine, orders queued",
            "orders/s",
            g(E, "queued", "orders_per_s"),
            g(B, "queued", "orders_per_s"),
            ">= 10,000",
        )
        add(
            "engine, orders queued",
            "events/s",
            g(E, "queued", "events_per_s"),
            g(B, "queued", "events_per_s"),
            "",
        )
        for who in ("workers", "postgres"):
            key = f"{who}_us_per_order"
            add(f"queued: {who} CPU per order", "us", g(E, "queued", key), g(B, "queued", key), "")
    if "relay" in E:
        add(
            "relay to 1,000 clients",
            "messages/s",
            g(E, "relay", "max", "messages_per_s"),
            g(B, "relay", "max", "messages_per_s"),
            ">= 40,000",
        )
        add(
            "relay p99 at paced rate",
            "ms",
            g(E, "relay", "paced", "publish_to_client_ms", "p99"),
            g(B, "relay", "paced", "publish_to_client_ms", "p99"),
            "< 5",
        )
    if "inflight" in E:
        add(
            "held by workers at brief latency",
            "orders",
            g(E, "inflight", "peak_held_by_workers"),
            None,
            ">= 50,000",
        )
        add(
            "in flight (stored) at brief lat.",
            "orders",
            g(E, "inflight", "peak_in_flight"),
            None,
            "",
        )
    return rows


def api_cpu_split(cpu_s: dict[str, float] | None) -> tuple[float, float] | None:
    """(busiest, idlest) CPU seconds of the API's gunicorn workers (the arbiter left out:
    the process with the least CPU among those named api*, when there are three or more)."""
    api = sorted((v for k, v in (cpu_s or {}).items() if k.startswith("api")), reverse=True)
    if len(api) >= 3:
        api = api[:-1]
    return (api[0], api[-1]) if api else None


def _get(d: Any, keys: tuple[str, ...]) -> Any:
    for k in keys:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def print_figures(rows: list[dict[str, Any]]) -> None:
    print(f"\n{'target':<34} {'unit':<11} {'engine':>10} {'baseline':>10} {'ratio':>6}  goal")
    for r in rows:

        def fmt(v: Any) -> str:
            return "-" if v is None else f"{v:,.1f}" if isinstance(v, float) else f"{v:,}"

        print(
            f"{r['target']:<34} {r['unit']:<11} {fmt(r['engine']):>10} {fmt(r['baseline']):>10}"
            f" {'-' if r['ratio'] is None else format(r['ratio'], '.2f'):>6}  {r['goal']}"
        )
