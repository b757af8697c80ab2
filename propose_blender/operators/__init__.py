"""Everything the panel's buttons do, by task: run (estimate, people, cancel), import, several people (cast), ghosts,
backend. The job driver they share is in jobs.py."""
from __future__ import annotations

from . import backend, cast, ghosts, importing, run

CLASSES = (*run.CLASSES, *importing.CLASSES, *cast.CLASSES, *ghosts.CLASSES, *backend.CLASSES)
