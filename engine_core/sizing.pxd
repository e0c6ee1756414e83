from engine_core.amm cimport u128


cdef object sized_route_c(dict pools, str side, u128 n, u128 limit, u128 scale)
