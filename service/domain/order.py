"""An order as its owning worker holds it while executing it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from engine_core import fsm
from service.domain.markets import Market
from service.domain.units import from_base_units, price_string
from service.domain.wire import WS_FIELDS


@dataclass
class LiveOrder:
    id: str
    client_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    amount: int
    limit_price: int | None
    slippage_bps: int
    status: str
    seq: int
    filled: int
    quote_amount: int
    fees: int
    attempts: int
    tx_hash: str | None
    failure_reason: str | None
    created_at: datetime
    expires_at: datetime | None
    market: Market
    entry_ids: list[tuple[str, str]] = field(default_factory=list)  # (stream, entry id)
    handle: int = 0  # in the market's book
    book_seq: int = -1  # time priority in the book, kept across executions
    cancel_requested: bool = False
    # a quote-denominated market order: quote-token base units to spend (buy) or receive
    # (sell); `amount` is then what the planner sized at the attempt (service/worker/planner)
    quote_target: int | None = None
    # payload() of the last call and what it was computed from (most status changes leave
    # the amounts as they were)
    _payload_of: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    _payload: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    # the same fields as JSON (orjson's, in WS_FIELDS order), rendered once per state
    fields_json: str = field(default="{}", repr=False, compare=False)

    @classmethod
    def from_row(cls, row: tuple[Any, ...], market: Market) -> LiveOrder:
        """From a row of store/worker.py's LIVE_ORDER_COLUMNS, in that order (the last,
        quote_target, may be left out)."""
        quote_target = row[19] if len(row) > 19 else None
        (
            oid,
            client_id,
            symbol,
            side,
            type_,
            tif,
            amount,
            limit_price,
            slippage_bps,
            status,
            seq,
            filled,
            quote_amount,
            fees,
            attempts,
            tx_hash,
            failure_reason,
            created_at,
            expires_at,
        ) = row[:19]
        if quote_target is not None:
            # no base amount stored: what it filled (an attempt that landed), else sized at
            # its next attempt (1 until then: a placeholder the planner replaces)
            amount = filled or 1
        return cls(
            id=str(oid),
            client_id=client_id,
            symbol=symbol,
            side=side,
            type=type_,
            time_in_force=tif,
            amount=amount,
            limit_price=limit_price,
            slippage_bps=slippage_bps,
            status=status,
            seq=seq,
            filled=filled,
            quote_amount=quote_amount,
            fees=fees,
            attempts=attempts,
            tx_hash=tx_hash,
            failure_reason=failure_reason,
            created_at=created_at,
            expires_at=expires_at,
            market=market,
            quote_target=quote_target,
        )

    @property
    def rests_remainder(self) -> bool:
        """Whether an unfilled remainder rests in the book (else it expires): limit GTC/GTD,
        and snipers unless IOC."""
        if self.type == "sniper":
            return self.time_in_force != "IOC"
        return self.type == "limit" and self.time_in_force in ("GTC", "GTD")

    @property
    def remaining(self) -> int:
        return self.amount - self.filled

    def apply(self, status: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """Move to `status`, refused (fsm.InvalidTransition) unless the state table allows it:
        the only place an order's status and event number change. Returns the new event's
        payload (this order's WebSocket fields, plus `extra`)."""
        fsm.check(self.status, status)
        self.status = status
        self.seq += 1
        payload = self.payload()
        if extra:
            payload.update(extra)
        return payload

    def row(self) -> tuple[Any, ...]:
        """The stored row's changing columns as of now (the writer's ORDER_FIELDS order)."""
        return (
            self.status,
            self.seq,
            self.filled,
            self.quote_amount,
            self.fees,
            self.attempts,
            self.tx_hash,
            self.failure_reason,
        )

    def payload(self) -> dict[str, Any]:
        """The WebSocket fields of this order as it stands, as decimal strings (a new dict
        the caller may extend)."""
        of = (
            self.filled,
            self.quote_amount,
            self.tx_hash,
            self.failure_reason,
            self.attempts,
            self.amount,
        )
        if of != self._payload_of:
            self._payload = self._compute_payload()
            self._payload_of = of
            self.fields_json = orjson.dumps(self._payload).decode()
        return dict(self._payload)

    def _compute_payload(self) -> dict[str, Any]:
        base, quote = self.market.base.decimals, self.market.quote.decimals
        values = {
            "filled": from_base_units(self.filled, base) or "0",
            # a quote-denominated order's base amount is known once it fills (as the API
            # shows it, service/api/render.py)
            "remaining": None
            if self.quote_target is not None and not self.filled
            else from_base_units(self.remaining, base) or "0",
            "avgPrice": price_string(self.quote_amount, self.filled, base, quote),
            "txHash": self.tx_hash,
            "failureReason": self.failure_reason,
            "attempts": self.attempts,
        }
        assert tuple(values) == WS_FIELDS
        return values
