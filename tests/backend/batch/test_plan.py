"""Cutting long clips into pieces: every selected frame kept exactly once, warm-ups inside the clip."""
from __future__ import annotations

from propose_backend.batch.plan import WARMUP, split
from propose_backend.request import FrameRange


def test_short_or_unknown_clips_stay_whole() -> None:
    assert split(None, 100, piece_frames=80) == []  # up to 1.5x a piece: one piece
    assert split(None, None, piece_frames=80) == []  # the header does not say how long it is
    assert split(None, 10_000, piece_frames=2 * WARMUP) == []  # pieces hardly longer than their warm-up


def test_pieces_cover_the_selected_frames_once() -> None:
    for frames, total in [(None, 1000), (FrameRange(5, 905, 3), 2000), (FrameRange(100, None, 2), 777)]:
        pieces = split(frames, total, piece_frames=90)
        wanted = list(range((frames or FrameRange()).start, min((frames or FrameRange()).stop or total, total),
                            (frames or FrameRange()).step))
        kept = [f for p in pieces for f in range(p.start, p.stop, p.step)]
        assert kept == wanted
        assert pieces[0].warmup_start == pieces[0].start
        for before, piece in zip(pieces, pieces[1:]):
            assert piece.start - piece.warmup_start == WARMUP * piece.step  # warm-up frames overlap the piece before
            assert before.stop == piece.start and piece.warmup_start >= before.start
        assert max(len(range(p.start, p.stop, p.step)) for p in pieces) <= 90
