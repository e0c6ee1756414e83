"""Static checks of .env.example and the CLI against service/config.py: every variable read
is listed once, commented, with config's default; the subcommands the deploy files use exist.

No Docker engine is needed: the files are parsed and checked against each other and against
service/config.py (the only reader of the engine's settings).
"""

from __future__ import annotations

from service.config import Settings
from tests.helpers.deploy_files import (
    SUBCOMMANDS,
    cli_subcommands,
    config_env_vars,
    config_error_names,
    env_example,
    env_example_dict,
)

# --------------------------------------------------------------------------- config.py / .env


def test_config_reads_parser_finds_known_variables():
    found = config_env_vars()
    assert {
        "PORT",
        "WS_PORT",
        "DATABASE_URL",
        "POSTGRES_HOST",
        "REDIS_URL",
        "QUEUE_CONCURRENCY",
        "MOCK_SWAP_LATENCY_MS",
        "MARKETS_FILE",
    } <= found
    missed = config_error_names() - found
    assert not missed, f"the parser misses variables config.py names in errors: {missed}"


def test_env_example_every_variable_is_read_by_config():
    unknown = set(env_example_dict()) - config_env_vars()
    assert not unknown, f".env.example sets variables service/config.py never reads: {unknown}"


def test_env_example_every_config_variable_is_listed():
    missing = config_env_vars() - set(env_example_dict())
    assert not missing, f"service/config.py reads variables missing from .env.example: {missing}"


def test_env_example_each_variable_once_with_a_comment():
    names = [e.name for e in env_example()]
    assert len(names) == len(set(names)), "a variable is listed twice in .env.example"
    bare = [e.name for e in env_example() if not e.comment_above]
    assert not bare, f".env.example: no comment line above {bare}"


def test_env_example_values_equal_config_defaults():
    assert Settings.from_env(env_example_dict()) == Settings.from_env({})


def test_env_example_seed_variables_present_with_seed_queue_values():
    env = env_example_dict()
    for name in (
        "PORT",
        "POSTGRES_HOST",
        "POSTGRES_PORT",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
        "REDIS_HOST",
        "REDIS_PORT",
    ):
        assert name in env, name
    assert env["PORT"] == "3000"
    assert env["QUEUE_CONCURRENCY"] == "5"
    assert env["QUEUE_RATE_LIMIT_MAX"] == "100"
    assert env["QUEUE_RATE_LIMIT_DURATION_MS"] == "1000"


def test_cli_declares_the_subcommands_the_deploy_files_use():
    missing = SUBCOMMANDS - cli_subcommands()
    assert not missing, f"service/runtime/cli.py lacks subcommands {missing}"
