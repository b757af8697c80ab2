"""The add-on's panels (the "ProPose" tab of the 3D viewport's side panel). Panels only draw: what
their buttons do is in operators/, the settings they show in properties.py."""
from __future__ import annotations

from . import panel, retarget, review, rig

CLASSES = (*panel.CLASSES, *review.CLASSES, *retarget.CLASSES, *rig.CLASSES)
