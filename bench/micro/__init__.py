"""Micro benchmarks (pytest-benchmark): each compiled function beside its plain-Python twin."""
