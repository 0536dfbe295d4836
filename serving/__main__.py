"""python -m serving [--number | --page] [--explain] FILE...: one JSON line per file (serving/cli.py;
`digits read` is the same command, installed)."""

import sys

from serving.cli import python_m_serving

if __name__ == "__main__":
    sys.exit(python_m_serving())
