"""A pure-Python integer reference of a Meteora DLMM swap, written from the real source
(MeteoraAg/dlmm-sdk, commons/src/quote.rs: quote_exact_in / quote_exact_out and the per-bin
swap_exact_in_quote_at_bin / swap_exact_out_quote_at_bin; commons/src/extensions/bin.rs:
get_amount_in / get_amount_out; commons/src/extensions/lb_pair.rs: the fee rate, compute_fee,
compute_fee_from_amount, update_references, update_volatility_accumulator, fee_on_input),
without limit orders, transfer fees or the protocol's share. Independent of engine_core: it
reads a DlmmPool only through its state dict (to_state()).

X is the base token, Y the quote: a sell is swap_for_y, a buy is not. A swap's result:
(amount_in, amount_out, fee, bins after, per-bin [(price, fee)]) with `fee` in the input token.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FEE_PRECISION = 10**9
MAX_FEE_RATE = 10**8
BASIS_POINT_MAX = 10_000
SCALE_OFFSET = 64


class OutOfLiquidity(Exception):
    pass


def _div(a: int, b: int, up: bool) -> int:
    return -(-a // b) if up else a // b


# -- bin.rs --
def get_amount_in(amount_out: int, price: int, swap_for_y: bool, up: bool) -> int:
    if swap_for_y:
        return _div(amount_out << SCALE_OFFSET, price, up)  # safe_shl_div_cast
    return _div(amount_out * price, 1 << SCALE_OFFSET, up)  # safe_mul_shr_cast


def get_amount_out(amount_in: int, price: int, swap_for_y: bool) -> int:
    if swap_for_y:
        return (price * amount_in) >> SCALE_OFFSET  # safe_mul_shr_cast, Rounding::Down
    return (amount_in << SCALE_OFFSET) // price  # safe_shl_div_cast, Rounding::Down


# -- lb_pair.rs --
def compute_fee(amount: int, rate: int) -> int:
    """The fee to add to an amount that excludes it (ceil)."""
    denominator = FEE_PRECISION - rate
    return (amount * rate + denominator - 1) // denominator


def compute_fee_from_amount(amount_with_fees: int, rate: int) -> int:
    return (amount_with_fees * rate + FEE_PRECISION - 1) // FEE_PRECISION


@dataclass
class Pair:
    """The LbPair fields a swap reads and writes, from a DlmmPool state."""

    bin_step: int
    base_factor_fee: int  # get_base_fee() in 1e9 precision (here fee_bps * 1e5)
    variable_fee_control: int
    max_volatility_accumulator: int
    filter_period: int
    decay_period: int
    reduction_factor: int
    active_id: int
    volatility_accumulator: int
    volatility_reference: int
    index_reference: int
    last_update: int
    clock: int
    input_only: bool
    bins: dict[int, list[int]] = field(default_factory=dict)  # id -> [x, y, price]

    def update_references(self) -> None:
        elapsed = self.clock - self.last_update
        if elapsed >= self.filter_period:
            self.index_reference = self.active_id
            if elapsed < self.decay_period:
                self.volatility_reference = (
                    self.volatility_accumulator * self.reduction_factor // BASIS_POINT_MAX
                )
            else:
                self.volatility_reference = 0

    def update_volatility_accumulator(self) -> None:
        delta_id = abs(self.index_reference - self.active_id)
        va = self.volatility_reference + delta_id * BASIS_POINT_MAX
        self.volatility_accumulator = min(va, self.max_volatility_accumulator)

    def total_fee(self) -> int:
        variable = 0
        if self.variable_fee_control > 0:
            square_vfa_bin = (self.volatility_accumulator * self.bin_step) ** 2
            v_fee = self.variable_fee_control * square_vfa_bin
            variable = (v_fee + 99_999_999_999) // 100_000_000_000
        return min(self.base_factor_fee + variable, MAX_FEE_RATE)

    def fee_on_input(self, swap_for_y: bool) -> bool:
        return True if self.input_only else not swap_for_y


def pair_of(state: dict[str, Any], price_of) -> Pair:
    """The Pair of a DlmmPool state; price_of(bin_id) gives a bin's Q64.64 price."""
    bins: dict[int, list[int]] = {}
    k = int(state["lo_id"])
    for count, x, y in state["bins"]:
        for _ in range(int(count)):
            bins[k] = [int(x), int(y), price_of(k)]
            k += 1
    return Pair(
        bin_step=state["bin_step"],
        base_factor_fee=state["fee_bps"] * 100_000,
        variable_fee_control=state["variable_fee_control"],
        max_volatility_accumulator=state["max_volatility_accumulator"],
        filter_period=state["filter_period"],
        decay_period=state["decay_period"],
        reduction_factor=state["reduction_factor"],
        active_id=state["active_id"],
        volatility_accumulator=state["volatility_accumulator"],
        volatility_reference=state["volatility_reference"],
        index_reference=state["index_reference"],
        last_update=state["last_update"],
        clock=state["clock"],
        input_only=state.get("fee_mode", "quote") == "input",
        bins=bins,
    )


# -- quote.rs, per bin (no limit orders: the MM layer only) --
def exact_in_at_bin(
    b: list[int], rate: int, in_amount: int, swap_for_y: bool, fee_on_input: bool
) -> tuple[int, int, int]:
    """swap_exact_in_quote_at_bin: (amount_in with fee, amount_out, fee)."""
    x, y, price = b
    trading_fee = 0
    excluded_fee_amount_in = in_amount
    if fee_on_input:
        trading_fee = compute_fee_from_amount(in_amount, rate)
        excluded_fee_amount_in = in_amount - trading_fee
    # calculate_exact_in_fill_amount
    max_amount_out = y if swap_for_y else x
    max_amount_in = get_amount_in(max_amount_out, price, swap_for_y, True)
    if excluded_fee_amount_in >= max_amount_in:
        amount_left = excluded_fee_amount_in - max_amount_in
        out_amount = max_amount_out
    else:
        amount_left = 0
        out_amount = get_amount_out(excluded_fee_amount_in, price, swap_for_y)
    included_fee_amount_in = in_amount
    if amount_left > 0:
        excluded_fee_amount_in -= amount_left
        if fee_on_input:
            trading_fee = compute_fee(excluded_fee_amount_in, rate)
            included_fee_amount_in = excluded_fee_amount_in + trading_fee
        else:
            included_fee_amount_in = excluded_fee_amount_in
    excluded_fee_amount_out = out_amount
    if not fee_on_input:
        trading_fee = compute_fee_from_amount(out_amount, rate)
        excluded_fee_amount_out = out_amount - trading_fee
    return included_fee_amount_in, excluded_fee_amount_out, trading_fee


def exact_out_at_bin(
    b: list[int], rate: int, out_amount: int, swap_for_y: bool, fee_on_input: bool
) -> tuple[int, int, int]:
    """swap_exact_out_quote_at_bin: (amount_in with fee, amount_out, fee)."""
    x, y, price = b
    included_fee_amount_out = out_amount
    if not fee_on_input:
        included_fee_amount_out = out_amount + compute_fee(out_amount, rate)
    max_amount_out = y if swap_for_y else x
    if included_fee_amount_out >= max_amount_out:
        return exact_in_at_bin(b, rate, 2**64 - 1, swap_for_y, fee_on_input)
    excluded_fee_amount_in = get_amount_in(included_fee_amount_out, price, swap_for_y, True)
    included_fee_amount_in = excluded_fee_amount_in
    if fee_on_input:
        included_fee_amount_in += compute_fee(excluded_fee_amount_in, rate)
    amount_in, _out, fee = exact_in_at_bin(
        b, rate, included_fee_amount_in, swap_for_y, fee_on_input
    )
    return amount_in, out_amount, fee


# -- quote.rs, the walks --
def _apply(b: list[int], swap_for_y: bool, into_bin: int, out_of_bin: int) -> None:
    if swap_for_y:
        b[0] += into_bin
        b[1] -= out_of_bin
    else:
        b[1] += into_bin
        b[0] -= out_of_bin


def swap(pair: Pair, amount: int, swap_for_y: bool, exact_out: bool) -> dict[str, Any]:
    """quote_exact_in (exact_out False: `amount` in) or quote_exact_out (`amount` out),
    applied to pair (its bins and volatility state). The bin keeps amount_in - fee (bin.rs
    swap's amount_into_bin) and gives what the taker gets."""
    pair.update_references()
    fee_on_input = pair.fee_on_input(swap_for_y)
    total_in = total_out = total_fee = 0
    per_bin: list[tuple[int, int]] = []  # (price, fee) of each bin the swap used
    left = amount
    step = -1 if swap_for_y else 1
    while left > 0:
        b = pair.bins.get(pair.active_id)
        if b is None:
            raise OutOfLiquidity()
        max_out = b[1] if swap_for_y else b[0]
        if max_out > 0:
            pair.update_volatility_accumulator()
            rate = pair.total_fee()
            if exact_out:
                a_in, a_out, fee = exact_out_at_bin(b, rate, left, swap_for_y, fee_on_input)
                left -= a_out
            else:
                a_in, a_out, fee = exact_in_at_bin(b, rate, left, swap_for_y, fee_on_input)
                left -= a_in
            into_bin = a_in - fee if fee_on_input else a_in
            out_of_bin = a_out if fee_on_input else a_out + fee
            _apply(b, swap_for_y, into_bin, out_of_bin)
            total_in += a_in
            total_out += a_out
            total_fee += fee
            per_bin.append((b[2], fee))
        if left > 0:
            pair.active_id += step
    pair.last_update = pair.clock
    return {"in": total_in, "out": total_out, "fee": total_fee, "per_bin": per_bin}
