"""Makes the shared test helpers (`reference`, the slow reference simulation of the twin, and
`strategies`, the hypothesis strategies for scenarios) importable from every test folder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
