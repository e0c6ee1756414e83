from libc.stdint cimport uint8_t

# status codes are indexes into fsm.pyx's STATUS_NAMES (checked there at import)
cdef enum:
    N_STATUS = 12

# -- QUERIES --
cdef bint allowed_c(uint8_t a, uint8_t b) noexcept nogil
cdef bint is_terminal_c(uint8_t s) noexcept nogil
# -- COMMANDS --
cdef int check_c(uint8_t a, uint8_t b) except -1
