"""Tokens and markets from the TOML config; integer base units from token-unit strings."""

from __future__ import annotations

import tomllib
import zlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from service.domain.units import to_base_units


class MarketsError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    symbol: str
    decimals: int


@dataclass(frozen=True)
class VenueConfig:
    venue: str
    kind: str
    # integers (base units), and the fee_mode (a string) when the file sets one (else the
    # kind's default, "input" for both: engine_core.pools CPMM_FEE_MODE / DLMM_FEE_MODE;
    # not added here, so the seeded config's digest is the file's)
    params: dict[str, Any]


@dataclass(frozen=True)
class Market:
    symbol: str
    base: Token
    quote: Token
    reference_price: Decimal
    drift: float
    volatility: float
    launched: bool
    venues: tuple[VenueConfig, ...] = field(default_factory=tuple)

    @property
    def native_sol_quote(self) -> bool:
        return self.quote.symbol == "SOL"

    @property
    def native_sol_base(self) -> bool:
        return self.base.symbol == "SOL"


def shard_of(symbol: str, shards: int) -> int:
    """Stable across processes and machines (unlike hash())."""
    return zlib.crc32(symbol.encode()) % shards


def _venue(name: str, raw: dict[str, Any], base: Token, quote: Token, where: str) -> VenueConfig:
    raw = dict(raw)
    kind = raw.pop("kind", None)
    if kind not in ("cpmm", "dlmm"):
        raise MarketsError(f"{where}.kind must be cpmm or dlmm")
    params: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith("base_"):
            params[key] = to_base_units(str(value), base.decimals, f"{where}.{key}")
        elif key.startswith("quote_"):
            params[key] = to_base_units(str(value), quote.decimals, f"{where}.{key}")
        elif key == "fee_mode" and kind == "cpmm":
            if value not in ("input", "output"):
                raise MarketsError(f"{where}.fee_mode must be input or output")
            params[key] = value
        elif key == "fee_mode" and kind == "dlmm":
            if value not in ("input", "quote"):
                raise MarketsError(f"{where}.fee_mode must be input or quote")
            params[key] = value
        elif isinstance(value, int):
            params[key] = value
        else:
            raise MarketsError(f"{where}.{key} must be an integer")
    return VenueConfig(name, kind, params)


def load_markets(path: Path) -> dict[str, Market]:
    try:
        doc = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise MarketsError(f"{path}: {e}") from None
    tokens = {sym: Token(sym, int(t["decimals"])) for sym, t in doc.get("tokens", {}).items()}
    markets: dict[str, Market] = {}
    for i, m in enumerate(doc.get("markets", [])):
        where = f"markets[{i}]"
        symbol = m.get("symbol", "")
        base_sym, _, quote_sym = symbol.partition("/")
        if base_sym not in tokens or quote_sym not in tokens:
            raise MarketsError(f"{where}.symbol {symbol!r}: both tokens must be in [tokens]")
        base, quote = tokens[base_sym], tokens[quote_sym]
        try:
            ref = Decimal(str(m["reference_price"]))
        except (KeyError, InvalidOperation):
            raise MarketsError(f"{where}.reference_price must be a decimal string") from None
        venues = tuple(
            _venue(name, v, base, quote, f"{where}.venues.{name}")
            for name, v in sorted(m.get("venues", {}).items())
        )
        launched = bool(m.get("launched", True))
        if launched and not venues:
            raise MarketsError(f"{where}: a launched market needs at least one venue")
        markets[symbol] = Market(
            symbol=symbol,
            base=base,
            quote=quote,
            reference_price=ref,
            drift=float(m.get("drift", 0.0)),
            volatility=float(m.get("volatility", 0.0)),
            launched=launched,
            venues=venues,
        )
    if not markets:
        raise MarketsError(f"{path}: no [[markets]]")
    return markets
