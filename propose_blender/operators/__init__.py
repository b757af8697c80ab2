"""Every operator of the add-on, by task: run (estimate, people, cancel), import, several people (cast),
ghosts, backend, review (jump to what is uncertain, part of a ghost), resolve (pins and re-solve),
retarget and export. The job driver the backend jobs share is in jobs.py."""
from __future__ import annotations

from . import backend, cast, ghosts, importing, resolve, retarget, review, run

CLASSES = (*run.CLASSES, *importing.CLASSES, *cast.CLASSES, *ghosts.CLASSES, *backend.CLASSES, *review.CLASSES,
           *resolve.CLASSES, *retarget.CLASSES)
