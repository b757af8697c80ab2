"""Where the licence-gated model files are looked for, and what to tell the user when they are not.

Order: an explicit path (flag or request field), else the folder in $PROPOSE_MODEL_FILES, else
the repository's model_files/ folder. A body with fingers (SMPL-X, SMPL-H) is preferred to plain
SMPL; without any, the body model falls back to the licence-free Anny body.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..request import CHECKPOINT_NAME
from ..request import MODEL_FILES_ENV as ENV_VAR
from .errors import InferenceError

# body files looked for in the model folder, best first (case-insensitive): a body with finger
# joints (SMPL-X, SMPL-H) before plain SMPL; neutral before the gendered files the MANO site ships;
# a converted .npz before its .pkl (it loads faster); the last name is the official SMPL download's
BODY_MODEL_NAMES = ("SMPLX_NEUTRAL.npz", "SMPLX_NEUTRAL.pkl", "SMPLH_NEUTRAL.npz", "SMPLH_NEUTRAL.pkl",
                    "SMPLX_MALE.npz", "SMPLX_MALE.pkl", "SMPLX_FEMALE.npz", "SMPLX_FEMALE.pkl",
                    "SMPLH_MALE.npz", "SMPLH_MALE.pkl", "SMPLH_FEMALE.npz", "SMPLH_FEMALE.pkl",
                    "SMPL_NEUTRAL.npz", "SMPL_NEUTRAL.pkl", "basicModel_neutral_lbs_10_207_0_v1.0.0.pkl")


def default_folder() -> Path:
    """model_files/ of the checkout this package runs from; elsewhere (a pip install, the add-on's
    bundled copy) a per-user folder, since nothing is installed beside the package."""
    for parent in Path(__file__).resolve().parents[1:4]:
        if (parent / "model_files").is_dir() and (parent / "backend" / "propose_backend").is_dir():
            return parent / "model_files"
    data_home = os.environ.get("XDG_DATA_HOME") or os.environ.get("APPDATA") or Path.home() / ".local" / "share"
    return Path(data_home) / "propose" / "model_files"


@dataclass
class ModelFiles:
    """The files found (None = absent) and the folder searched, for messages."""

    checkpoint: Path | None
    body_model: Path | None
    folder: Path
    warnings: list[str] = field(default_factory=list)

    def missing_checkpoint_message(self) -> str:
        return (f"The ProPose checkpoint {CHECKPOINT_NAME} was not found in {self.folder}. Download it "
                f"(link in the ProPose authors' README, NetEase-GameAI/ProPose) into that folder, or pass "
                f"--checkpoint PATH, or set {ENV_VAR} to the folder that holds it. To try the pipeline without "
                "it, add --allow-random-weights (the poses will be meaningless).")


def model_folder() -> Path:
    env = os.environ.get(ENV_VAR, "").strip()
    return Path(env).expanduser() if env else default_folder()


def _explicit(path: str | os.PathLike[str], what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_file():
        raise InferenceError("missing_file", f"The {what} {path} does not exist; check the path.")
    return path


def find_model_files(checkpoint: str | os.PathLike[str] | None = None,
                     body_model: str | os.PathLike[str] | None = None) -> ModelFiles:
    """Resolve the checkpoint and body model; explicit paths must exist, defaults may be absent."""
    folder = model_folder()
    found = ModelFiles(None, None, folder)
    if checkpoint:
        found.checkpoint = _explicit(checkpoint, "checkpoint")
    elif (folder / CHECKPOINT_NAME).is_file():
        found.checkpoint = folder / CHECKPOINT_NAME
    if body_model:
        found.body_model = _explicit(body_model, "body model")
    else:
        found.body_model = _find_body(folder)
        if found.body_model is None:
            found.warnings.append(f"No SMPL / SMPL-H / SMPL-X body model ({', '.join(BODY_MODEL_NAMES[::2])} ...) in "
                                  f"{folder}: using the licence-free Anny body (see README: Body models).")
        elif "MALE" in found.body_model.name.upper():
            found.warnings.append(f"Using the gendered body {found.body_model.name} (no neutral SMPL-H / SMPL-X file "
                                  f"in {folder}); pass --body-model PATH to choose another.")
    return found


def _find_body(folder: Path) -> Path | None:
    """The best body file in `folder` (BODY_MODEL_NAMES order, any letter case: the MANO site
    names its files SMPLH_male.pkl)."""
    if not folder.is_dir():
        return None
    present = {p.name.upper(): p for p in folder.iterdir() if p.is_file()}
    return next((present[n.upper()] for n in BODY_MODEL_NAMES if n.upper() in present), None)
