"""Benchmarks (pytest-benchmark): each Cython function beside its plain-Python twin."""
