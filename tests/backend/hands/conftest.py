"""The rendered hand scenes these tests draw are benchmark support code (benchmarks/hand_scene.py):
make that folder importable, as running a benchmark script does. Also the small made-up rest hands
(both wrists and middle knuckles of a 24-joint body, palms down) several tests solve on."""
import sys
from pathlib import Path

import numpy as np
import pytest

from propose_backend.hands.fingers import HandAnatomy
from propose_backend.hands.rest import template_hands

BENCHMARKS = str(Path(__file__).resolve().parents[3] / "benchmarks")
if BENCHMARKS not in sys.path:
    sys.path.insert(0, BENCHMARKS)


@pytest.fixture(scope="session")
def rest_hands() -> np.ndarray:
    """(2, 21, 3) template rest hands on a body whose wrists sit at x = ±0.7, hands along ±x."""
    rest24 = np.zeros((24, 3))
    rest24[20], rest24[22] = (0.7, 0.5, 0.0), (0.8, 0.5, 0.0)
    rest24[21], rest24[23] = (-0.7, 0.5, 0.0), (-0.8, 0.5, 0.0)
    return template_hands(rest24)


@pytest.fixture(scope="session")
def anatomy(rest_hands: np.ndarray) -> HandAnatomy:
    return HandAnatomy.from_rest(rest_hands)
