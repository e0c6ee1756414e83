"""Crash runs on throwaway PostgreSQL and redis-server (`python -m bench.chaos`), and the
invariants every run must keep (`invariants.py`)."""
