"""Put this directory on sys.path so tests can import ``reference`` and ``topologies``."""

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
