"""Collect bench_*.py here (the project's python_files stays test_*.py for tests/).

Run, save, compare (storage: ./.benchmarks, one file per saved run):

    python -m pytest bench --benchmark-enable --benchmark-autosave      # run and save
    python -m pytest bench --benchmark-enable --benchmark-compare \
        --benchmark-compare-fail=mean:25%      # against the last saved run; fails on regression
    pytest-benchmark compare --group-by=name   # every saved run side by side
"""

from __future__ import annotations

import pytest


def pytest_collect_file(file_path, parent):
    # A file named on the command line is collected by pytest itself: not twice.
    if parent.session.isinitpath(file_path):
        return None
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
