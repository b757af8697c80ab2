"""Body models: SMPL files (pkl/npz), the procedural demo body, and the skinning layer."""
from .files import BodyModelData, BodyModelError, load_body_model, save_npz, save_plain_pkl
from .demo import demo_body

__all__ = ["BodyModelData", "BodyModelError", "load_body_model", "save_npz", "save_plain_pkl", "demo_body"]
