"""Benchmarks, apart from the tests: micro/ (pytest-benchmark), load/ (end-to-end runs),
chaos/ (crash runs).

May import: `engine_core` and any part of `service` (it drives the real thing); never `tests`
(the e2e tests use bench/launch.py's engine launcher, not the other way round). Nothing in
`service` imports it: `order-engine bench` runs `python -m bench.load` as its own program.
"""
