"""The ProPose network (HRNet-W48 + heads) and strict loading of the released checkpoint."""
from propose_backend.model.checkpoint import CheckpointError, load_checkpoint_state, load_network_weights
from propose_backend.model.hrnet import W48_LAYOUT, HRNetLayout, HRNetW48
from propose_backend.model.inference import count_batch_norms, prepare_for_inference
from propose_backend.model.network import (
    NetworkOutput,
    ProPoseNet,
    camera_translation,
    heatmap_probabilities,
    heatmap_soft_argmax,
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
    "count_batch_norms",
    "heatmap_probabilities",
    "heatmap_soft_argmax",
    "load_checkpoint_state",
    "load_network_weights",
    "prepare_for_inference",
    "root_relative_joints",
    "soft_argmax",
    "W48_LAYOUT",
]
