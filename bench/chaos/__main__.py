"""`python -m bench.chaos`: crash runs on throwaway servers (bench/chaos/chaos.py)."""

import sys

from bench.chaos.chaos import main

sys.exit(main())
