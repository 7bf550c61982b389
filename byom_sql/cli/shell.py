"""The interactive shell (placeholder until the shell work lands)."""

from __future__ import annotations

import argparse
import sys


def run(args: argparse.Namespace) -> int:
    print("the interactive shell is not available yet: use -c SQL or -f FILE", file=sys.stderr)
    return 2
