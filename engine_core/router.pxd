from engine_core.amm cimport Pool, i128, u128
from engine_core.split cimport Venues


cdef class Leg:
    cdef readonly str venue
    cdef readonly object amount             # base units
    cdef readonly object quote              # quote units: out for a sell, in for a buy
    cdef readonly object fee                # quote units, included in `quote`
    cdef readonly object price_impact_bps   # vs. this venue's spot price before the trade


cdef class Route:
    cdef readonly str side
    cdef readonly object amount
    cdef readonly tuple legs
    cdef readonly object quote_amount
    cdef readonly object fees
    cdef readonly object price_impact_bps   # vs. the best spot price before the trade


# -- QUERIES --
cdef Route route_of_c(str side, list names, Venues v, u128* alloc, object amount)
