"""The ProPose network (HRNet-W48 + heads) and strict loading of the released checkpoint."""
from propose_backend.model.checkpoint import CheckpointError, load_checkpoint_state, load_network_weights
from propose_backend.model.hrnet import W48_LAYOUT, HRNetLayout, HRNetW48
from propose_backend.model.network import (
    NetworkOutput,
    ProPoseNet,
    camera_translation,
    heatmap_probabilities,
    root_relative_joints,
    soft_argmax,
)

__all__ = [
    "CheckpointError",
    "HRNetLayout",
    "HRNetW48",
    "NetworkOutput",
    "ProPoseNet",
    "camera_translation",
    "heatmap_probabilities",
    "load_checkpoint_state",
    "load_network_weights",
    "root_relative_joints",
    "soft_argmax",
    "W48_LAYOUT",
]
