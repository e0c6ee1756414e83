"""Helpers shared by test modules (one copy each): the e2e engine launcher (engine.py), waiting
for an order to reach a status (waiting.py), the API's counts and a good body (api.py), the
in-process relay (relay.py), running a worker over posted orders (worker.py) and a LiveOrder
to test with (orders.py). Test modules import from here, never from each other."""
