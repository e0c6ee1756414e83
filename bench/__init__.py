"""Benchmarks, apart from the tests: micro/ (pytest-benchmark), load/ (end-to-end runs),
chaos/ (crash runs).

May import: `engine_core` and any part of `service` (it drives the real thing). Not `tests`,
but for the chaos run's engine launcher (tests/helpers/engine.py, the e2e tests' own). Nothing
in `service` imports it, but `order-engine bench` (the load tool).
"""
