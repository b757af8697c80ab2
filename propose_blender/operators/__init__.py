"""Everything the panel's buttons do, by task: run (estimate, people, cancel), import, ghosts,
backend. The job driver they share is in jobs.py."""
from __future__ import annotations

from . import backend, ghosts, importing, run

CLASSES = (*run.CLASSES, *importing.CLASSES, *ghosts.CLASSES, *backend.CLASSES)
