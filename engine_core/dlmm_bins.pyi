from engine_core.amm import Pool

class DlmmBins(Pool):
    """A layer of DlmmPool (bins, parameters, state), not a pool of its own."""

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
