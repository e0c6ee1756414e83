"""A LiveOrder to test with: a market buy of 1.5 SOL on SOL/USDC, as a worker loads it."""

from __future__ import annotations

from datetime import UTC, datetime

from service.config import DEFAULT_MARKETS_FILE
from service.domain.markets import load_markets
from service.domain.order import LiveOrder

SOL = load_markets(DEFAULT_MARKETS_FILE)["SOL/USDC"]


def live_order(status: str = "pending", seq: int = 1) -> LiveOrder:
    row = ("id-1", "c1", "SOL/USDC", "buy", "market", "GTC", 1_500_000_000, None, 50, status,
           seq, 0, 0, 0, 0, None, None, datetime.now(UTC), None)  # fmt: skip
    return LiveOrder.from_row(row, SOL)
