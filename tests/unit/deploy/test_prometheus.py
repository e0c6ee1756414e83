"""Static check of deploy/prometheus.yml: it scrapes the API's /metrics."""

from __future__ import annotations

import yaml

from tests.helpers.deploy_files import (
    API_ADDR,
    ROOT,
)

# --------------------------------------------------------------------------- prometheus


def test_prometheus_scrapes_the_api_metrics():
    conf = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = [
        (job.get("metrics_path", "/metrics"), job.get("scheme", "http"), target)
        for job in conf.get("scrape_configs") or []
        for static in job.get("static_configs") or []
        for target in static.get("targets") or []
    ]
    assert ("/metrics", "http", API_ADDR) in targets, targets
