"""What every scenario of a load run shares: the six statuses of a filled order, extra engine
settings from the command line, and py-spy profiles of the engine's processes."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path
from typing import Any

from bench.load import engine as eng

SIX = ["pending", "routing", "building", "submitted", "confirmed", "filled"]


def start_profiles(args: argparse.Namespace, e: eng.Engine, name: str) -> list[Any]:
    """py-spy record of every engine process while the scenario runs (--profile DIR)."""
    if not args.profile:
        return []
    import subprocess

    out = Path(args.profile)
    out.mkdir(parents=True, exist_ok=True)
    procs = []
    for pname, pid in e.pids().items():
        procs.append(
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-p",
                    str(pid),
                    "-r",
                    "200",
                    "--nonblocking",
                    "-f",
                    "raw",
                    "-o",
                    str(out / f"{name}-{pname}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return procs


def stop_profiles(procs: list[Any]) -> None:
    import signal

    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        with contextlib.suppress(Exception):
            p.wait(timeout=30)


def parse_env(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out
