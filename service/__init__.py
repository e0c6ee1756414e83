"""The service layer around the compiled core: the API, the workers, the WebSocket relay, the
store, and the processes that run them.

Owns the modules every part shares: `config.py` (Settings from the environment), `auth.py`
(API keys, for the API and the relay alike), `errors.py` (the one error shape of the contract).

Layers, lowest first (pyproject's [tool.importlinter] contracts, checked by
tests/unit/test_import_layers.py): `engine_core` < `domain` < `store` and `simulator` <
`worker` | `api` | `relay` (never each other) < `runtime`. `client` stands apart and imports
none of them. Nothing here imports `bench` or `tests` (but `order-engine bench`, which runs
the load tool).

May import: nothing itself (it holds `__version__`, which the client reads); each part's
`__init__` says what that part may import.
"""

__version__ = "0.1.0"
