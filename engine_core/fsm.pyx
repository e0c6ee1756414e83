"""The order state machine: one table of allowed transitions, compiled once to a C array,
and the named sets of statuses beside it.

This module owns the status vocabulary. Python code imports the sets below; the places that
cannot import them (SQL in store/ and the migrations, the blotter's JS, the standalone client)
are compared with them by tests/unit/engine_core/test_status_vocabulary.py.
"""

from libc.stdint cimport uint8_t

STATUS_NAMES = (
    "pending", "open", "routing", "building", "submitted", "confirmed",
    "partially_filled", "filled", "canceled", "expired", "rejected", "failed",
)
STATUS_CODES = {name: code for code, name in enumerate(STATUS_NAMES)}

# -- NAMED SETS (every status is exactly one of: "pending", LIVE, TERMINAL) --
# An order's life is over: no transition leaves these.
TERMINAL = frozenset({"filled", "canceled", "expired", "rejected", "failed"})
# Waiting in its market's book for the price to come (a limit or sniper order's remainder).
RESTING = frozenset({"open", "partially_filled"})
# Inside one execution attempt (route, build, submit, land).
IN_ATTEMPT = frozenset({"routing", "building", "submitted", "confirmed"})
# An attempt whose transaction is not sent yet: after a takeover, that attempt starts again.
UNSUBMITTED = frozenset({"routing", "building"})
# Taken by a worker and not over: what a worker loads back at its start.
LIVE = RESTING | IN_ATTEMPT
# A cancel is honoured at once: not yet taken, or resting between attempts.
CANCELLABLE = frozenset({"pending"}) | RESTING

# (from, to): the readable source of truth; the tests read it too.
TRANSITIONS = frozenset({
    ("pending", "routing"), ("pending", "open"), ("pending", "rejected"),
    ("pending", "canceled"),
    ("pending", "expired"),             # IOC/FOK with nothing executable at arrival
    ("open", "routing"), ("open", "canceled"), ("open", "expired"),
    ("open", "partially_filled"), ("open", "filled"),   # a resting maker filled internally
    ("partially_filled", "partially_filled"), ("partially_filled", "filled"),
    ("routing", "building"), ("routing", "open"), ("routing", "partially_filled"),
    ("routing", "expired"), ("routing", "failed"),
    ("routing", "routing"),             # attempt failed while routing, retried
    ("building", "submitted"), ("building", "failed"),
    ("building", "routing"),            # attempt failed while building, retried
    ("submitted", "confirmed"), ("submitted", "failed"),
    ("submitted", "routing"),           # attempt did not land, retried
    ("confirmed", "filled"), ("confirmed", "partially_filled"), ("confirmed", "expired"),
    ("partially_filled", "routing"), ("partially_filled", "canceled"),
    ("partially_filled", "expired"),
})


class InvalidTransition(ValueError):
    """A status change that the table does not allow; refused before anything changes."""

    def __init__(self, int a, int b):
        super().__init__(f"transition {STATUS_NAMES[a]} -> {STATUS_NAMES[b]} is not allowed")
        self.from_status = STATUS_NAMES[a]
        self.to_status = STATUS_NAMES[b]


cdef uint8_t _ALLOWED[N_STATUS][N_STATUS]
cdef uint8_t _TERMINAL[N_STATUS]


def _compile():
    cdef int i, j
    if len(STATUS_NAMES) != N_STATUS:
        raise AssertionError("fsm.pxd's N_STATUS is not len(STATUS_NAMES)")
    for i in range(N_STATUS):
        _TERMINAL[i] = 0
        for j in range(N_STATUS):
            _ALLOWED[i][j] = 0
    for a, b in TRANSITIONS:
        _ALLOWED[STATUS_CODES[a]][STATUS_CODES[b]] = 1
    for name in TERMINAL:
        _TERMINAL[STATUS_CODES[name]] = 1


_compile()


cdef bint allowed_c(uint8_t a, uint8_t b) noexcept nogil:
    return a < N_STATUS and b < N_STATUS and _ALLOWED[a][b] == 1


cdef bint is_terminal_c(uint8_t s) noexcept nogil:
    return s < N_STATUS and _TERMINAL[s] == 1


cdef int check_c(uint8_t a, uint8_t b) except -1:
    if not allowed_c(a, b):
        raise InvalidTransition(a, b)
    return 0


def code(str name) -> int:
    """The status code of a status name (KeyError for an unknown one)."""
    return STATUS_CODES[name]


def allowed(str a, str b) -> bool:
    return allowed_c(STATUS_CODES[a], STATUS_CODES[b])


def check(str a, str b) -> None:
    """Raise InvalidTransition unless a -> b is in the table."""
    check_c(STATUS_CODES[a], STATUS_CODES[b])


def is_terminal(str name) -> bool:
    return is_terminal_c(STATUS_CODES[name])
