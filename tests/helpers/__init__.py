"""Helpers shared by test modules (one copy each): the e2e engine launcher (engine.py), waiting
for an order to reach a status (waiting.py), the API's counts and a good body (api.py), the
in-process relay (relay.py) and the relay tests' PostgreSQL and Redis side (relay_world.py),
running a worker over posted orders (worker.py), the market streams (streams.py), a LiveOrder
to test with (orders.py), a Book from rows (book.py), the CLI client tests' fakes (client.py),
the validation tests' markets and 400 assertions (validation.py), the deployment files'
loaders (deploy_files.py), and the fuzz tests' target and strategies (fuzz_target.py,
fuzz_strategies.py). Test modules import from here, never from each other
(tests/unit/test_import_layers.py checks it)."""
