"""The batch's bookkeeping: what counts as done, what is redone, and that it survives a reload."""
from __future__ import annotations

import os
from pathlib import Path

from propose_backend.batch.manifest import DONE, Manifest, fingerprint, request_key
from propose_backend.request import EstimateRequest


def _finished(manifest: Manifest, output: Path, source: Path, key: str) -> None:
    record = manifest.begin(output, source, key, [])
    output.write_bytes(b"results")
    record.state, record.results_file = DONE, fingerprint(output)
    manifest.save()


def test_done_clips_are_skipped_only_while_input_request_and_results_are_unchanged(tmp_path: Path) -> None:
    source, output, books = tmp_path / "clip.mp4", tmp_path / "clip.propose.npz", tmp_path / "propose-batch.json"
    source.write_bytes(b"footage")
    key = request_key(EstimateRequest(samples=8), ["ckpt", "body", "propose"])
    _finished(Manifest(books), output, source, key)
    assert Manifest(books).begin(output, source, key, []).skipped  # read back from disk
    assert request_key(EstimateRequest(samples=8, device="cuda", output="elsewhere"), ["ckpt", "body", "propose"]) == key
    assert not Manifest(books).begin(output, source, request_key(EstimateRequest(samples=4), ["ckpt", "body", "propose"]),
                                     []).skipped  # another request
    assert not Manifest(books, redo=True).begin(output, source, key, []).skipped
    output.write_bytes(b"something else")  # the results file was replaced since
    assert not Manifest(books).begin(output, source, key, []).skipped
    _finished(Manifest(books), output, source, key)
    stat = source.stat()
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))  # the input changed
    assert not Manifest(books).begin(output, source, key, []).skipped


def test_finished_pieces_survive_while_the_plan_holds(tmp_path: Path) -> None:
    source, output, books = tmp_path / "long.mp4", tmp_path / "long.propose.npz", tmp_path / "propose-batch.json"
    source.write_bytes(b"footage")
    manifest = Manifest(books)
    record = manifest.begin(output, source, "k", [[0, 100, 1], [100, 200, 1]])
    record.pieces_done, record.attempts = [0], 1
    manifest.save()
    again = Manifest(books).begin(output, source, "k", [[0, 100, 1], [100, 200, 1]])
    assert again.pieces_done == [0] and again.attempts == 1 and not again.skipped
    assert Manifest(books).begin(output, source, "k", [[0, 60, 1], [60, 200, 1]]).pieces_done == []


def test_an_unreadable_manifest_is_set_aside(tmp_path: Path) -> None:
    books = tmp_path / "propose-batch.json"
    books.write_text("{not json")
    manifest = Manifest(books)
    assert manifest.records == {} and "could not be read" in manifest.warning
    assert (tmp_path / "propose-batch.unreadable.json").is_file()
