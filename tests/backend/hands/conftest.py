"""The rendered hand scenes these tests draw are benchmark support code (benchmarks/hand_scene.py):
make that folder importable, as running a benchmark script does."""
import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[3] / "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)
