"""Instant mode: a keypoint-driven estimator that needs no licence-gated download.

BlazePose (its models ship inside the mediapipe wheel) gives 33 landmarks with metric 3D
coordinates; their bone directions go through the same analytical posterior as the network.
"""
