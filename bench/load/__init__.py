"""End-to-end load runs (`order-engine bench`, `python -m bench.load`) beside their
bare-library twins (`baseline.py`) in the same run."""
