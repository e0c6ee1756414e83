"""Base58 in engine_core against the definition (the number in base 58, a '1' per leading
zero byte) and known Bitcoin test vectors."""

from hypothesis import given
from hypothesis import strategies as st

from service.simulator.codec import b58encode

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def reference(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    digits = ""
    while n:
        n, r = divmod(n, 58)
        digits = ALPHABET[r] + digits
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + digits


def test_known_vectors() -> None:
    # from Bitcoin Core's src/test/data/base58_encode_decode.json
    assert b58encode(b"") == ""
    assert b58encode(bytes.fromhex("61")) == "2g"
    assert b58encode(bytes.fromhex("626262")) == "a3gV"
    assert b58encode(bytes.fromhex("636363")) == "aPEr"
    assert b58encode(bytes.fromhex("00000000000000000000")) == "1111111111"
    assert b58encode(bytes.fromhex("00eb15231dfceb60925886b67d065299925915aeb172c06647")) == (
        "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"
    )
    assert b58encode(bytes.fromhex("ecac89cad93923c02321")) == "EJDM8drfXA6uyA"


def test_a_signature_is_88_characters_or_so() -> None:
    assert 86 <= len(b58encode(b"\xff" * 64)) <= 88


@given(st.binary(max_size=200))
def test_matches_the_definition(data: bytes) -> None:
    assert b58encode(data) == reference(data)


@given(st.integers(0, 8), st.binary(max_size=70))
def test_leading_zero_bytes_are_ones(zeros: int, rest: bytes) -> None:
    assert b58encode(bytes(zeros) + rest) == reference(bytes(zeros) + rest)
