"""Let the analysis tests reuse the data-plane reference and topology builders."""

import sys
from pathlib import Path

DATAPLANE = str(Path(__file__).resolve().parent.parent / "dataplane")
if DATAPLANE not in sys.path:
    sys.path.insert(0, DATAPLANE)
