"""Static checks of docker-compose.yml: services, images, commands, health checks, start
order, ports, volumes and the environment it gives the engine.

No Docker engine is needed: the files are parsed and checked against each other and against
service/config.py (the only reader of the engine's settings).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from service.config import Settings
from tests.helpers.deploy_files import (
    API_ADDR,
    APP_SERVICES,
    EXTRA_APP_ENV,
    LONG_RUNNING,
    RELAY_ADDR,
    ROOT,
    URL_PARTS,
    cli_subcommands,
    command,
    compose,
    config_env_vars,
    depends_on,
    env_example_dict,
    final_stage,
    healthcheck_text,
    interpolate_defaults,
    mounts,
    published_ports,
    service,
    service_env,
)

# --------------------------------------------------------------------------- docker-compose.yml


def test_compose_services_all_present():
    expected = {"postgres", "redis", "migrate", "api", "worker", "relay", "front", "prometheus"}
    missing = expected - set(compose()["services"])
    assert not missing, f"docker-compose.yml lacks services {missing}"


def test_compose_images_are_the_pinned_ones():
    assert service("postgres")["image"] == "postgres:15"
    assert service("redis")["image"] == "redis:7"
    assert service("front")["image"] == "nginx:1.27-alpine"
    assert str(service("prometheus")["image"]).startswith("prom/prometheus")


def test_compose_app_services_build_one_image_from_the_dockerfile():
    images = set()
    for name in APP_SERVICES:
        build = service(name).get("build")
        assert build, f"{name} has no build section"
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = (
            "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        )
        assert Path(context) in (Path("."), Path("./")) and dockerfile == "Dockerfile", name
        images.add(service(name).get("image"))
    assert len(images) == 1, f"app services should share one image name, got {images}"


@pytest.mark.parametrize(("name", "sub"), sorted(APP_SERVICES.items()))
def test_compose_app_service_command_is_a_cli_subcommand(name, sub):
    cmd = command(name)
    assert cmd[:1] == ["order-engine"], f"{name}: {cmd}"
    assert cmd[1:2] == [sub], f"{name}: {cmd}"
    assert sub in cli_subcommands(), f"{name}: service/runtime/cli.py has no subcommand {sub!r}"


def test_compose_postgres_healthcheck_and_volume():
    assert "pg_isready" in healthcheck_text("postgres")
    assert any(t == "/var/lib/postgresql/data" for _, t in mounts("postgres"))
    declared = set(compose().get("volumes") or {})
    for src, _ in mounts("postgres"):
        assert src in declared, f"postgres volume {src} is not a declared named volume"


def test_compose_redis_healthcheck_pings():
    assert re.search(r"redis-cli\b.*\bping\b", healthcheck_text("redis"))


def test_compose_api_healthcheck_gets_health_on_3000():
    text = healthcheck_text("api")
    assert "/health" in text and ":3000" in text and "/healthz" not in text


def test_compose_relay_healthcheck_gets_healthz_on_3001():
    text = healthcheck_text("relay")
    assert "/healthz" in text and ":3001" in text


@pytest.mark.parametrize("name", ["worker", "migrate"])
def test_compose_portless_service_disables_the_image_http_healthcheck(name):
    assert (service(name).get("healthcheck") or {}).get("disable") is True


def test_compose_migrate_waits_for_healthy_postgres_and_runs_once():
    assert depends_on("migrate").get("postgres") == "service_healthy"
    assert str(service("migrate").get("restart", "no")) in ("no", "False", "false")


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_compose_engine_part_waits_for_migrate_and_healthy_stores(name):
    deps = depends_on(name)
    assert deps.get("migrate") == "service_completed_successfully", deps
    assert deps.get("redis") == "service_healthy", deps
    assert deps.get("postgres") == "service_healthy", deps


def test_compose_front_waits_for_healthy_api_and_relay():
    deps = depends_on("front")
    assert deps.get("api") == "service_healthy" and deps.get("relay") == "service_healthy", deps


def test_compose_only_front_and_prometheus_publish_ports():
    publishing = {n for n in compose()["services"] if published_ports(n)}
    assert publishing <= {"front", "prometheus"}, publishing
    assert ("3000", "3000") in published_ports("front")


def test_compose_front_mounts_deploy_nginx_conf():
    assert ("./deploy/nginx.conf", "/etc/nginx/nginx.conf") in mounts("front")
    assert (ROOT / "deploy" / "nginx.conf").is_file()


def test_compose_prometheus_is_in_monitoring_profile_with_deploy_config():
    assert service("prometheus").get("profiles") == ["monitoring"]
    assert ("./deploy/prometheus.yml", "/etc/prometheus/prometheus.yml") in mounts("prometheus")
    for name in compose()["services"]:
        if name != "prometheus":
            assert not service(name).get("profiles"), f"{name} should start by default"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_env_points_at_compose_postgres_and_redis(name):
    env = service_env(name)
    assert env["DATABASE_URL"] == "postgresql://postgres:postgres@postgres:5432/orders"
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    db = urlsplit(env["DATABASE_URL"])
    pg = {k: str(v) for k, v in (service("postgres").get("environment") or {}).items()}
    assert (db.hostname, db.port) == ("postgres", 5432)
    assert db.username == pg["POSTGRES_USER"] and db.password == pg["POSTGRES_PASSWORD"]
    assert db.path.lstrip("/") == pg["POSTGRES_DB"]
    assert urlsplit(env["REDIS_URL"]).hostname == "redis"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_env_sets_only_and_all_config_variables(name):
    keys = set(service_env(name))
    unknown = keys - config_env_vars() - EXTRA_APP_ENV
    assert not unknown, f"{name} sets variables nothing reads: {unknown}"
    missing = config_env_vars() - URL_PARTS - keys
    assert not missing, f"{name} does not pass these settings through from .env: {missing}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_app_env_defaults_equal_config_defaults(name):
    env = {k: interpolate_defaults(v) for k, v in service_env(name).items()}
    got = Settings.from_env(env)
    # compose listens on every interface behind its front, and trusts that front's X-Forwarded-For
    want = dataclasses.replace(
        Settings.from_env({}),
        database_url=got.database_url,
        redis_url=got.redis_url,
        host="0.0.0.0",
        trusted_proxies=got.trusted_proxies,
    )
    assert got == want
    assert got.trusted_proxies, "the front's X-Forwarded-For must name the source address"


def yaml_strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*yaml_strings(k), *yaml_strings(v))]
    if isinstance(node, list):
        return [s for item in node for s in yaml_strings(item)]
    return [node] if isinstance(node, str) else []


def test_compose_interpolated_variables_are_in_env_example():
    pattern = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")
    used = {name for text in yaml_strings(compose()) for name in pattern.findall(text)}
    assert used, "compose takes nothing from .env"
    unknown = used - set(env_example_dict())
    assert not unknown, f"docker-compose.yml reads ${{…}} not in .env.example: {unknown}"


def test_compose_api_ports_match_front_and_healthchecks():
    for name in LONG_RUNNING:
        env = service_env(name)
        assert env.get("PORT") == API_ADDR.split(":")[1], name
        assert env.get("WS_PORT") == RELAY_ADDR.split(":")[1], name


def test_compose_metrics_dir_shared_by_api_worker_relay_on_fresh_tmpfs():
    paths = {service_env(n).get("PROMETHEUS_MULTIPROC_DIR") for n in LONG_RUNNING}
    assert len(paths) == 1 and None not in paths, f"one PROMETHEUS_MULTIPROC_DIR: {paths}"
    (path,) = paths
    sources = set()
    for name in LONG_RUNNING:
        srcs = [s for s, t in mounts(name) if t == path]
        assert len(srcs) == 1, f"{name} does not mount a volume at {path}"
        sources.add(srcs[0])
    assert len(sources) == 1, f"api, worker and relay must share one volume, got {sources}"
    (volume,) = sources
    decl = (compose().get("volumes") or {}).get(volume) or {}
    opts = decl.get("driver_opts") or {}
    assert opts.get("type") == "tmpfs", "the shared metrics volume must start empty (tmpfs)"
    owner = dict(kv.partition("=")[::2] for kv in str(opts.get("o", "")).split(","))
    user = final_stage().all("USER")[-1].split(":")[0]
    assert owner.get("uid") == user, f"metrics volume uid {owner.get('uid')} != image USER {user}"
    image_env = " ".join(final_stage().all("ENV"))
    assert f"PROMETHEUS_MULTIPROC_DIR={path}" in image_env, "image and compose disagree on the dir"
