STATUS_NAMES: tuple[str, ...]
STATUS_CODES: dict[str, int]
TERMINAL: frozenset[str]
RESTING: frozenset[str]
IN_ATTEMPT: frozenset[str]
LIVE: frozenset[str]
CANCELLABLE: frozenset[str]
UNSUBMITTED: frozenset[str]
TRANSITIONS: frozenset[tuple[str, str]]

class InvalidTransition(ValueError):
    from_status: str
    to_status: str
    def __init__(self, a: int, b: int) -> None: ...

def code(name: str) -> int: ...
def allowed(a: str, b: str) -> bool: ...
def check(a: str, b: str) -> None: ...
def is_terminal(name: str) -> bool: ...
