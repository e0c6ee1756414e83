from engine_core.amm cimport u128
from engine_core.split cimport Venues

cdef void refine_c(Venues self, u128* alloc, double px) noexcept
cdef void prune_c(Venues self, u128* alloc) noexcept
cdef void favour_book_c(Venues self, u128* alloc) noexcept
