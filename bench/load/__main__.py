"""`python -m bench.load`: the end-to-end load run (bench/load/load.py)."""

import os
import sys

from bench.load.load import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
