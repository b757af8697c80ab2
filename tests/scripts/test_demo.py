"""The README's demo command, end to end: photo -> backend -> Blender -> .blend and stills."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_end_to_end(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "demo.py"), "--out", str(tmp_path), "--samples", "4"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in ("astronaut.png", "astronaut.npz", "astronaut.blend", "astronaut_uncertainty.png",
                 "astronaut_ghosts.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    assert "Per-bone uncertainty" in done.stdout and "left_knee" in done.stdout
    import cv2

    overlay = cv2.imread(str(tmp_path / "astronaut_uncertainty.png"))
    photo = cv2.imread(str(tmp_path / "astronaut.png"))
    assert overlay.shape[1] == photo.shape[1] and overlay.shape[0] > photo.shape[0]  # + the legend band
    overlay = overlay[:photo.shape[0]]
    changed = (abs(overlay.astype(int) - photo.astype(int)).sum(axis=2) > 30).mean()
    assert 0.005 < changed < 0.3  # the bone markers are drawn over the photo, the photo is still there
    ghosts = cv2.imread(str(tmp_path / "astronaut_ghosts.png"))
    assert ghosts.std() > 10  # bodies were rendered, not an empty frame
