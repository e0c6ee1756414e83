"""Benchmarks, apart from the tests: micro/ (pytest-benchmark), load/ (end-to-end runs),
chaos/ (crash runs)."""
