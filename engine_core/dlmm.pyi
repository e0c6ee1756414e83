from typing import Any, ClassVar

from engine_core.amm import Pool

PARAMS: tuple[str, ...]

def bin_price_x64(bin_id: int, bin_step: int) -> int: ...
def bin_id_for_price_x64(price_x64: int, bin_step: int) -> int: ...

class DlmmPool(Pool):
    kind: ClassVar[str]
    bin_step: int
    fee_bps: int
    variable_fee_control: int
    max_volatility_accumulator: int
    filter_period: int
    decay_period: int
    reduction_factor: int
    lo_id: int
    n_bins: int
    active_id: int
    volatility_accumulator: int
    volatility_reference: int
    index_reference: int
    last_update: int
    clock: int
    def __init__(
        self,
        bin_step: int,
        active_id: int,
        bins_each_side: int,
        base_per_bin: int,
        quote_per_bin: int,
        fee_bps: int = 20,
        variable_fee_control: int = 40000,
        max_volatility_accumulator: int = 350000,
        filter_period: int = 0,
        decay_period: int = 600,
        reduction_factor: int = 5000,
    ) -> None: ...
    @staticmethod
    def from_params(params: dict[str, int]) -> DlmmPool: ...
    @staticmethod
    def from_state(d: dict[str, Any]) -> DlmmPool: ...
    @property
    def base_reserve(self) -> int: ...
    @property
    def quote_reserve(self) -> int: ...
    @property
    def fees_quote(self) -> int: ...
    def bins(self) -> list[tuple[int, int, int, int]]: ...
    def fee_rate(self, bin_id: int | None = None) -> int: ...
    def set_clock(self, now: int) -> None: ...
    def amount_to_bin(self, target_id: int) -> tuple[str, int]: ...
