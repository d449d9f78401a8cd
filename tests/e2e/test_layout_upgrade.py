"""A home written before the storage layout (plain ``result.csv`` and ``parts/<n>.csv`` files)
works after an upgrade: a real ``scorecast serve`` makes a finished job and a multipart upload
waiting for its finalize, the test puts their files back in the old layout while the server is
stopped, and the next start moves them (``connectors/legacy_localfile.py``): the finished job's
download is byte-identical, and the waiting job is finalized and scored to the same bytes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from job_streams import wait_for_job
from serving import ServeProcess, patients_csv, register_demo_model

pytestmark = pytest.mark.e2e

FINAL = ("COMPLETED", "ABORTED", "FAILED")


def _spec(deployment: str, *, multipart: bool) -> dict[str, object]:
    return {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile", "multipart": multipart},
        "outputSettings": {"type": "localFile"},
        "passthroughColumns": ["patient_id"],
    }


def _to_old_layout(home: Path, finished: str, waiting: str) -> None:
    """What the version before segments left for these two jobs (it wrote no mark of a
    finished move either)."""
    (home / "results" / ".legacy-layout-moved").unlink()
    results = home / "results" / finished
    manifest = results / "result.json"
    assert manifest.is_file()
    segments = sorted(next(results.glob("attempt-*")).iterdir())
    with (results / "result.csv").open("wb") as old:
        for segment in segments:
            old.write(segment.read_bytes())
    manifest.unlink()
    shutil.rmtree(segments[0].parent)
    (results / "attempt-3.csv").write_bytes(b"patient_id,")  # a crashed attempt's staging file
    parts = home / "uploads" / waiting / "parts"
    for part in sorted(parts.iterdir()):
        part.rename(parts / f"{part.name}.csv")


def test_a_home_of_the_old_layout_downloads_and_scores_after_the_upgrade(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'scorecast.db'}"
    lines = patients_csv(tmp_path / "input.csv", copies=4).read_bytes().splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    first = ServeProcess(home, url, "--workers", "1").start()
    try:
        assert first.token
        deployment = register_demo_model(first)
        with first.http() as http:
            done = http.post("batchPredictions/", json=_spec(deployment, multipart=True)).json()
            for number, piece in enumerate((rows[:900], rows[900:])):
                put = http.put(
                    f"{done['links']['csvUpload']}part/{number}/", content=header + b"".join(piece)
                )
                assert put.status_code == 202, put.text
            finish = http.post(f"{done['links']['csvUpload']}finalizeMultipart/")
            assert finish.status_code == 202, finish.text
            finished = wait_for_job(http, done["id"], lambda j: j["status"] in FINAL)
            assert finished["status"] == "COMPLETED", finished
            before = http.get(finished["links"]["download"]).content
            waiting = http.post("batchPredictions/", json=_spec(deployment, multipart=True)).json()
            for number, piece in enumerate((rows[:1200], rows[1200:])):
                put = http.put(
                    f"{waiting['links']['csvUpload']}part/{number}/",
                    content=header + b"".join(piece),
                )
                assert put.status_code == 202, put.text
    finally:
        assert first.stop() == 0
    _to_old_layout(home, done["id"], waiting["id"])

    second = ServeProcess(home, url, "--workers", "1")
    second.token = first.token
    second.start()
    try:
        with second.http() as http:
            after = http.get(f"batchPredictions/{done['id']}/download/")  # a new port
            assert after.status_code == 200, after.text
            assert after.content == before
            finish = http.post(f"batchPredictions/{waiting['id']}/csvUpload/finalizeMultipart/")
            assert finish.status_code == 202, finish.text
            scored = wait_for_job(http, waiting["id"], lambda j: j["status"] in FINAL)
            assert scored["status"] == "COMPLETED", scored
            assert http.get(f"batchPredictions/{waiting['id']}/download/").content == before
    finally:
        second.stop()
    assert "moved files of the layout before segments" in second.output()
    assert not list(home.rglob("*.csv"))  # every old file moved or removed
