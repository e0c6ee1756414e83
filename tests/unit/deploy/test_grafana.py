"""Static checks of the Grafana dashboard and its provisioning (deploy/grafana/): the JSON is a
dashboard, every metric it queries is one service/metrics defines, every query is valid
PromQL (promtool), and `docker compose --profile monitoring` provisions it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import service.metrics as metrics

ROOT = Path(__file__).resolve().parents[3]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "order-engine.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"

PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
    "inf",
    "nan",
}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
}


@cache
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict[str, Any]]:
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def exprs() -> list[str]:
    out = [t["expr"] for p in panels() for t in p["targets"]]
    for var in dashboard()["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
            out.append(query)
    return out


@cache
def exposed_names() -> frozenset[str]:
    """Every sample name service/metrics' objects expose (counter _total, histogram _bucket…)."""
    names: set[str] = set()
    for obj in vars(metrics).values():
        if isinstance(obj, MetricWrapperBase):
            name, kind = obj._name, obj._type
            names.add(name)
            names.update(name + s for s in SUFFIXES.get(kind, ()))
    return frozenset(names)


def metric_names(expr: str) -> set[str]:
    """The metric names in a PromQL expression (or a Grafana label_values() query)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,[^)]*\)", r"\1", text)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        word = m.group(0)
        after = text[m.end() :].lstrip()
        if after.startswith("(") or word.lower() in PROMQL_WORDS or word.startswith("$"):
            continue
        if text[: m.start()].endswith("$"):  # $__rate_interval, $type
            continue
        names.add(word)
    return names


def promql(expr: str) -> str:
    """A Grafana expression with its variables replaced, as Prometheus would get it."""
    return (
        expr.replace("$__rate_interval", "1m")
        .replace("$__range", "1h")
        .replace("$type", ".*")
        .replace("$side", ".*")
    )


# --------------------------------------------------------------------------- dashboard


def test_dashboard_is_a_grafana_dashboard_with_panels():
    d = dashboard()
    assert d["uid"] == "order-engine" and d["title"]
    assert isinstance(d["schemaVersion"], int)
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    assert len(panels()) >= 8
    for p in panels():
        assert p["type"] in ("timeseries", "stat", "gauge", "bargauge", "table"), p["title"]
        assert p["targets"] and all(t.get("expr") for t in p["targets"]), p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]


def test_dashboard_panels_do_not_overlap_and_fit_the_grid():
    cells: set[tuple[int, int]] = set()
    for p in dashboard()["panels"]:
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        box = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not box & cells, f"{p['title']} overlaps another panel"
        cells |= box


def test_dashboard_uses_the_provisioned_datasource():
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    uids = {s["uid"] for s in sources if s["type"] == "prometheus"}
    for p in panels():
        assert p["datasource"]["uid"] in uids, p["title"]
        assert all(t["datasource"]["uid"] in uids for t in p["targets"]), p["title"]


def test_every_metric_the_dashboard_queries_exists_in_service_metrics():
    assert {"orders_total", "order_queue_size", "db_pool_connections"} <= exposed_names()
    for expr in exprs():
        names = metric_names(expr)
        assert names, f"no metric found in {expr!r}"
        unknown = names - exposed_names()
        assert not unknown, f"{expr!r} queries metrics service/metrics does not define: {unknown}"


def test_metric_name_parser_finds_names_and_skips_functions_labels_and_variables():
    expr = (
        'histogram_quantile(0.9, sum by (le) (rate(x_bucket{type=~"$type"}[$__rate_interval])))'
        " / sum without (pid) (y) + on (a) group_left (b) z"
    )
    assert metric_names(expr) == {"x_bucket", "y", "z"}
    assert metric_names("label_values(orders_total, type)") == {"orders_total"}


def test_dashboard_covers_the_seed_metrics():
    text = "\n".join(exprs())
    for name in (
        "orders_total",
        "order_execution_duration_seconds_bucket",
        "order_queue_size",
        "order_queue_latency_seconds_bucket",
        "websocket_connections_current",
        "db_pool_connections",
    ):
        assert name in text, name
    assert re.search(r"sum by \(status\) \(\w+\(orders_total", text), "orders by status"
    assert re.search(r"sum by \(state\) \(db_pool_connections\)", text), "DB pool by state"
    for q in ("0.5", "0.9", "0.99"):
        assert re.search(
            rf"histogram_quantile\({q}, sum by \(le\) \("
            r"rate\(order_execution_duration_seconds_bucket",
            text,
        ), f"execution latency p{q}"


def test_every_query_is_valid_promql(tmp_path: Path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus (.ci/run does)"
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:expr_{i}", "expr": promql(e)}
                    for i, e in enumerate(exprs())
                    if not e.startswith("label_values(")
                ],
            }
        ]
    }
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------- provisioning


@cache
def grafana_service() -> tuple[dict[str, Any], Path]:
    """The `grafana` service, from docker-compose.yml or a file it includes."""
    main = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    candidates = [(main, ROOT)]
    for entry in main.get("include") or []:
        paths = entry if isinstance(entry, str) else entry["path"]
        for rel in [paths] if isinstance(paths, str) else paths:
            path = ROOT / rel
            assert path.is_file(), f"docker-compose.yml includes a missing file {rel}"
            candidates.append((yaml.safe_load(path.read_text()), path.parent))
    for doc, base in candidates:
        if "grafana" in (doc.get("services") or {}):
            return doc["services"]["grafana"], base
    raise AssertionError("no grafana service in docker-compose.yml or its includes")


def grafana_mounts() -> dict[str, Path]:
    """Container path -> host path of the grafana service's bind mounts."""
    svc, base = grafana_service()
    out = {}
    for m in svc.get("volumes") or []:
        src, dst = str(m).split(":")[:2]
        if src.startswith((".", "/")):
            out[dst] = (base / src).resolve()
    return out


def test_compose_runs_grafana_in_the_monitoring_profile_with_prometheus():
    svc, _ = grafana_service()
    main = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert svc.get("profiles") == ["monitoring"]
    assert main["services"]["prometheus"].get("profiles") == ["monitoring"]
    assert str(svc["image"]).startswith("grafana/grafana:") and ":latest" not in svc["image"]
    published = [str(p).split(":") for p in svc.get("ports") or []]
    assert published and all(p[-1] == "3000" for p in published)
    assert not any(p[0] in ("3000", "3001", "9090") for p in published), "host port taken"


def test_compose_mounts_grafana_provisioning_and_dashboards():
    mounts = grafana_mounts()
    assert mounts.get("/etc/grafana/provisioning") == (GRAFANA / "provisioning").resolve()
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert providers and all(p["type"] == "file" for p in providers)
    for provider in providers:
        host = mounts.get(provider["options"]["path"])
        assert host == DASHBOARD.parent.resolve(), f"{provider['options']['path']} is not mounted"
    svc, _ = grafana_service()
    home = (svc.get("environment") or {}).get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    if home:
        folder, _, name = home.rpartition("/")
        assert mounts.get(folder) == DASHBOARD.parent.resolve() and name == DASHBOARD.name


def test_datasource_points_at_the_compose_prometheus():
    sources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    (prom,) = [s for s in sources if s["type"] == "prometheus"]
    main = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert prom["url"] == "http://prometheus:9090" and "prometheus" in main["services"]
    assert prom["access"] == "proxy" and prom.get("isDefault") is True


@pytest.mark.parametrize("path", [DATASOURCES, PROVIDERS])
def test_provisioning_files_are_grafana_v1(path: Path):
    assert yaml.safe_load(path.read_text())["apiVersion"] == 1
