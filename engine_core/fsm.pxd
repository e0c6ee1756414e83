from libc.stdint cimport uint8_t

cdef enum Status:
    PENDING = 0
    OPEN = 1
    ROUTING = 2
    BUILDING = 3
    SUBMITTED = 4
    CONFIRMED = 5
    PARTIALLY_FILLED = 6
    FILLED = 7
    CANCELED = 8
    EXPIRED = 9
    REJECTED = 10
    FAILED = 11

cdef enum:
    N_STATUS = 12

# -- QUERIES --
cdef bint allowed_c(uint8_t a, uint8_t b) noexcept nogil
cdef bint is_terminal_c(uint8_t s) noexcept nogil
# -- COMMANDS --
cdef int check_c(uint8_t a, uint8_t b) except -1
