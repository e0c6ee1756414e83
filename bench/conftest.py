"""Collect bench_*.py here (the project's python_files stays test_*.py for tests/).

Run: pytest bench --benchmark-enable -p no:cacheprovider
"""

from __future__ import annotations

import pytest


def pytest_collect_file(file_path, parent):
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None
