"""One exception type for every failure the user can act on, tagged with a protocol error kind.

The command line prints its message as one line; the service sends it as an `error` event with
the same `kind` (docs/protocol.md). Anything else that escapes is a bug and reported as such.
"""
from __future__ import annotations

KINDS = ("bad_request", "busy", "missing_file", "bad_input", "bad_model", "no_person", "internal")


class InferenceError(RuntimeError):
    """A failure with a message written for the user and a machine-readable kind."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown error kind {kind!r}")
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __reduce__(self) -> tuple:  # survive pickling between worker processes
        return (type(self), (self.kind, self.message))
