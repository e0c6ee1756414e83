def from_base_units(units: int | None, decimals: int) -> str | None: ...
def price_string(
    quote_units: int,
    base_units: int,
    base_decimals: int,
    quote_decimals: int,
    extra_digits: int = 4,
) -> str | None: ...
