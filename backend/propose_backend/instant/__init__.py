"""Instant mode: a keypoint-driven estimator that needs no licence-gated download.

BlazePose (its models ship inside the mediapipe wheel) gives 33 landmarks with metric 3D
coordinates; their bone directions go through the same analytical posterior as the network.
"""


def create_estimator(settings):  # noqa: ANN001, ANN201 - see instant.landmark_estimator.create_estimator
    """Build the instant-mode estimator (imported lazily: it pulls in mediapipe and torch)."""
    from .landmark_estimator import create_estimator as _create

    return _create(settings)
