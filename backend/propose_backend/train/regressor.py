"""The Human3.6M joint regressor (`J_regressor_h36m.npy`, 17 × 6890): evaluation joints from a mesh.

It is a licence-gated companion of the SMPL model (distributed with SPIN/HybrIK data), so the
project never ships it; tests use the synthetic regressor of `synthetic.py`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

NUM_H36M = 17


class RegressorError(FileNotFoundError):
    """The Human3.6M regressor file is missing or has the wrong shape."""


def load_h36m_regressor(path: str | Path, num_vertices: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise RegressorError(
            f"Human3.6M joint regressor not found at {path}. Evaluation regresses the 17 Human3.6M "
            "joints from the mesh with J_regressor_h36m.npy (17×6890), a licence-gated file that "
            "comes with the SMPL/SPIN/HybrIK data: put it into model_files/ or pass --regressor.")
    regressor = np.load(path, allow_pickle=False).astype(np.float32)
    if regressor.shape != (NUM_H36M, num_vertices):
        raise RegressorError(f"{path} has shape {regressor.shape}; the Human3.6M regressor of this "
                             f"body model is ({NUM_H36M}, {num_vertices}).")
    return regressor
