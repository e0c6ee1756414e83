"""Settings from the environment: defaults, every bad value named."""

from __future__ import annotations

import pytest

from service.config import ConfigError, Settings, redact, server_choice


def test_settings_empty_env_seed_defaults() -> None:
    s = Settings.from_env({})
    assert (s.port, s.ws_port) == (3000, 3001)
    assert (s.queue_concurrency, s.queue_rate_limit_max, s.queue_rate_limit_duration_ms) == (
        5,
        100,
        1000,
    )
    assert s.max_attempts == 3
    assert s.mock_quote_latency_ms == (200, 200) and s.mock_swap_latency_ms == (2000, 3000)
    assert s.mock_blockhash_validity_ms == 60_000
    assert s.api_keys == {} and s.rate_limit_per_min == 600


def test_settings_postgres_parts_build_database_url() -> None:
    s = Settings.from_env(
        {
            "POSTGRES_HOST": "db",
            "POSTGRES_PORT": "5433",
            "POSTGRES_USER": "u",
            "POSTGRES_PASSWORD": "p@ss",
            "POSTGRES_DB": "orders",
            "REDIS_HOST": "r",
            "REDIS_PORT": "6380",
        }
    )
    assert s.database_url == "postgresql://u:p%40ss@db:5433/orders"
    assert s.redis_url == "redis://r:6380/0"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PORT", "http"),
        ("PORT", "70000"),
        ("WS_PORT", "-1"),
        ("QUEUE_CONCURRENCY", "0"),
        ("QUEUE_RATE_LIMIT_MAX", "many"),
        ("QUEUE_RATE_LIMIT_DURATION_MS", "0"),
        ("MAX_ATTEMPTS", "0"),
        ("MOCK_SWAP_LATENCY_MS", "3000-2000"),
        ("MOCK_QUOTE_LATENCY_MS", "fast"),
        ("MOCK_FAILURE_RATE", "1.5"),
        ("SIM_ENABLED", "maybe"),
        ("API_KEYS", "nokey"),
        ("API_KEYS", "short=alice"),  # below the minimum key length
        ("API_KEYS", "key-0123456789abcdef=bad client"),
        ("OPERATOR_API_KEYS", "short=ops"),
        ("SIM_MAX_PRICE_RATIO", "1"),
        ("TRUSTED_PROXIES", "not-a-network"),
        ("WS_MAX_CONNECTIONS", "0"),
        ("HEADER_TIMEOUT_S", "0"),
        ("API_MAX_CONNECTIONS_PER_SOURCE", "0"),
        ("MARKETS_FILE", "/no/such/file.toml"),
        ("REDIS_URL", "http://x"),
        ("DATABASE_URL", "mysql"),
        ("REDIS_PREFIX", "has space"),
        ("LOG_LEVEL", "loud"),
        ("WORKERS", "9"),
        ("MOCK_BLOCKHASH_VALIDITY_MS", "50"),
        ("MOCK_BLOCKHASH_VALIDITY_MS", "3000"),  # the default quote + swap may take 3,200
    ],
)
def test_settings_bad_value_raises_config_error_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as e:
        Settings.from_env({name: value})
    assert e.value.name == name
    assert name in str(e.value)


def test_settings_api_keys_pairs_and_latency_range() -> None:
    s = Settings.from_env(
        {
            "API_KEYS": "k1-0123456789abcd=alice, k2-0123456789abcd=bob",
            "MOCK_SWAP_LATENCY_MS": "0-5",
        }
    )
    assert s.api_keys == {"k1-0123456789abcd": "alice", "k2-0123456789abcd": "bob"}
    assert s.mock_swap_latency_ms == (0, 5)


def test_settings_redis_keys_hash_tagged_by_prefix() -> None:
    s = Settings.from_env({"REDIS_PREFIX": "p1"})
    assert s.stream_key(3) == "p1:orders:{3}"
    assert s.events_channel == "p1:events"


def test_server_choice_embedded_exactly_when_no_server_is_named() -> None:
    assert server_choice({"REDIS_PREFIX": "x", "DATABASE_URL": " "}).embedded
    for name in ("DATABASE_URL", "POSTGRES_HOST", "REDIS_URL", "REDIS_HOST"):
        choice = server_choice({name: "x"})
        assert not choice.embedded, name
        assert name in choice.postgres_why + choice.redis_why


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"POSTGRES_PASSWORD": "secret"}, "POSTGRES_PASSWORD"),
        ({"POSTGRES_USER": "u", "POSTGRES_DB": "d"}, "POSTGRES_USER, POSTGRES_DB"),
        ({"REDIS_PORT": "6380"}, "REDIS_PORT"),
        ({"REDIS_URL": "redis://r:1/0", "REDIS_PORT": "6380"}, None),
        ({"DATABASE_URL": "postgresql://h/d", "POSTGRES_PASSWORD": "s"}, None),
    ],
)
def test_half_given_server_is_an_error_naming_the_variables(
    env: dict[str, str], named: str | None
) -> None:
    if named is None:
        Settings.from_env(env)
        return
    with pytest.raises(ConfigError) as e:
        Settings.from_env(env)
    assert e.value.name == named
    assert "POSTGRES_HOST" in str(e.value) or "REDIS_HOST" in str(e.value)


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql://u:p%40ss@db:5433/orders") == "postgresql://u:***@db:5433/orders"
    assert redact("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_settings_base64_key_keeps_its_padding() -> None:
    # key=clientId split at the last '=': the keys end in '=' and '==' (base64 padding)
    s = Settings.from_env(
        {"API_KEYS": "c2VjcmV0LWtleS1mb3ItYWxpY2U==alice,YWJjZGVmZ2hpamtsbW5vcA===bob"}
    )
    assert s.api_keys == {
        "c2VjcmV0LWtleS1mb3ItYWxpY2U=": "alice",
        "YWJjZGVmZ2hpamtsbW5vcA==": "bob",
    }


def test_settings_operator_key_must_not_be_a_client_key() -> None:
    with pytest.raises(ConfigError) as e:
        Settings.from_env(
            {
                "API_KEYS": "same-key-0123456789=alice",
                "OPERATOR_API_KEYS": "same-key-0123456789=ops",
            }
        )
    assert e.value.name == "OPERATOR_API_KEYS"


def test_settings_listen_on_loopback_unless_host_says() -> None:
    assert Settings.from_env({}).host == "127.0.0.1"
    assert Settings.from_env({"HOST": "0.0.0.0"}).host == "0.0.0.0"
