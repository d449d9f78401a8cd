"""The bad-input corpus through one running ``scorecast serve`` (``--workers 2``, SQLite), with
localFile uploads: each input gives its documented outcome (docs: "Rows that cannot be scored",
"Uploads", "Downloads"), and the service keeps serving other jobs.

| input                         | outcome through the service                                   |
|-------------------------------|---------------------------------------------------------------|
| truncated file (cut mid-row)  | COMPLETED; the cut row fails (too few fields), others scored  |
| ragged rows                   | COMPLETED; each ragged row fails with its field count          |
| wrong types                   | COMPLETED; the row fails naming the column and value           |
| > 100 bad rows and > 1 %      | ABORTED (abortOnError), no result; with abortOnError false     |
|                               | COMPLETED with every bad row failed                            |
| every row bad                 | ABORTED: no row could be scored, no result                     |
| empty body                    | the upload is 422 naming the body; the job waits for an upload |
| a lone BOM or line end        | FAILED: "the input is empty", no result                        |
| header only                   | COMPLETED with 0 rows; the result is the header line           |
| missing feature columns       | FAILED naming the columns, no result (a localFile header is    |
|                               | not known at submit)                                           |
| one 200 MiB line              | COMPLETED; that row fails, the rows around it are scored       |
| a binary file named .csv      | FAILED: it cannot be read as CSV, no traceback, no result      |

FAILED above is the job's end reason: the wire shows every unsuccessful end ``ABORTED`` with
``endReason`` ``failed`` or ``aborted``. "No result" means the download answers 404 JSON naming
the status, never a part of a file; a COMPLETED job's download is whole (``jobOutputSize``
bytes, one line per input row). A good job whose upload is held open RUNS through the whole
corpus in the other job slot and completes with every row; after the corpus the service still
answers and scores another job.
"""

from __future__ import annotations

import csv
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from job_streams import (
    Download,
    StreamedDownload,
    download_to,
    held_upload,
    job_status,
    wait_for_job,
)
from serving import ServeProcess, patients_csv, register_demo_model, submit_local_job

import bad_inputs
from scorecast.demo import DATA

pytestmark = pytest.mark.e2e

GOOD = DATA.read_text()  # 500 patients
LONG_LINE = 200 << 20
FINAL = ("COMPLETED", "ABORTED", "FAILED")
#: the good job that runs while the corpus does: 120,000 rows (3.1 MB), of which the last
#: 10 % are held back until every bad job has ended (the server writes an upload to disk in
#: 1 MiB pieces, so the part sent first must be a few MiB for the job to score some of it)
GOOD_COPIES = 240
MANY_BAD = 150
BAD_ROW = "P9,oops,1,2,urgent"


@dataclass(frozen=True)
class Case:
    body: Any  # bytes or an iterator of bytes (streamed, chunked)
    spec: dict[str, Any] = field(default_factory=dict)


def _corpus() -> dict[str, Case]:
    many_bad = bad_inputs.with_bad_rows(GOOD, BAD_ROW, MANY_BAD).encode()
    return {
        "truncated": Case(bad_inputs.truncated(GOOD).encode()),
        "ragged": Case(bad_inputs.ragged(GOOD).encode()),
        "wrong_types": Case(bad_inputs.wrong_type(GOOD).encode()),
        "many_bad": Case(many_bad),
        "many_bad_no_abort": Case(many_bad, {"abortOnError": False}),
        "all_bad": Case((bad_inputs.header_only(GOOD) + "P1,x,y,z,urgent\n" * 5).encode()),
        "empty": Case(b""),
        "bom_only": Case(b"\xef\xbb\xbf"),
        "blank_line": Case(b"\n"),
        "header_only": Case(bad_inputs.header_only(GOOD).encode()),
        "missing_columns": Case(b"patient_id,age,other\nP1,3,4\n"),
        "binary": Case(bad_inputs.binary()),
        "long_line": Case(bad_inputs.with_long_line(GOOD, LONG_LINE)),
    }


@dataclass
class Outcome:
    upload: httpx.Response
    job: dict[str, Any]
    download: Download | None = None


@dataclass
class Good:
    """The good job that runs while the corpus does."""

    before: dict[str, Any]  # the job once RUNNING, before the first bad job
    after: dict[str, Any]  # ... once every bad job had ended
    upload: httpx.Response
    job: dict[str, Any]  # ... once ended
    streamed_before: int  # bytes of its download streamed before the first bad job
    streamed: Path  # its download, streamed from before the corpus to the job's end
    download: Download  # its download once ended


@dataclass
class CorpusRun:
    outcomes: dict[str, Outcome]
    good: Good
    bad_window: tuple[str, str]  # first start and last end of the bad jobs (ISO datetimes)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One ``scorecast serve`` (2 job slots, SQLite) for the whole module."""
    home = tmp_path_factory.mktemp("home-bad-input")
    process = ServeProcess(home, f"sqlite:///{home / 'scorecast.db'}", "--workers", "2").start()
    try:
        assert process.token, process.output()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def deployment(server: ServeProcess) -> str:
    return register_demo_model(server)


def _ended(job: dict[str, Any]) -> bool:
    return job["status"] in FINAL


def _spec(deployment: str, **extra: Any) -> dict[str, Any]:
    return {
        "deploymentId": deployment,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        "passthroughColumns": ["patient_id"],
        "includePredictionStatus": True,
        **extra,
    }


@pytest.fixture(scope="module")
def corpus(
    server: ServeProcess, deployment: str, tmp_path_factory: pytest.TempPathFactory
) -> CorpusRun:
    """Run the whole corpus while a good job runs in the other job slot; see the docstring."""
    folder = tmp_path_factory.mktemp("bad-input-results")
    good_text = patients_csv(folder / "good.csv", copies=GOOD_COPIES).read_bytes()
    held = good_text.index(b"\n", len(good_text) * 9 // 10) + 1
    release = threading.Event()
    outcomes: dict[str, Outcome] = {}
    with server.http() as http:
        created = http.post("batchPredictions/", json=_spec(deployment, chunkSize=65536)).json()
        good_id = created["id"]
        uploader = held_upload(
            server, created["links"]["csvUpload"], good_text[:held], good_text[held:], release
        )
        try:
            good_before = wait_for_job(http, good_id, lambda j: j["status"] != "INITIALIZING")
            streamed = StreamedDownload(server, good_id, folder / "good_streamed.csv")
            # the good job scores meanwhile (a deadline for a loaded machine: ends once there)
            streamed_before = streamed.wait_for(1 << 20, timeout=180)
            for name, case in _corpus().items():
                job = http.post("batchPredictions/", json=_spec(deployment, **case.spec))
                assert job.status_code == 202, job.text
                upload = http.put(job.json()["links"]["csvUpload"], content=case.body)
                outcomes[name] = Outcome(upload, job.json())
            for outcome in outcomes.values():
                if outcome.upload.status_code == 202:
                    outcome.job = wait_for_job(http, outcome.job["id"], _ended)
            good_after = job_status(http, good_id)
        finally:
            release.set()
        good_upload: httpx.Response = uploader.join(180)  # generous: a loaded machine
        good = wait_for_job(http, good_id, _ended)
        outcomes["empty"].job = job_status(http, outcomes["empty"].job["id"])
        for name, outcome in outcomes.items():
            outcome.download = download_to(http, outcome.job["id"], folder / f"{name}.csv")
        good_download = download_to(http, good_id, folder / "good_result.csv")
    ended = [o.job for o in outcomes.values() if o.job["status"] in FINAL]
    return CorpusRun(
        outcomes,
        good=Good(
            before=good_before,
            after=good_after,
            upload=good_upload,
            job=good,
            streamed_before=streamed_before,
            streamed=streamed.join(60),
            download=good_download,
        ),
        bad_window=(min(j["started"] for j in ended), max(j["finished"] for j in ended)),
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _statuses(path: Path) -> list[str]:
    return [row["prediction_status"] for row in _rows(path)]


def _whole_result(outcome: Outcome, rows: int) -> Path:
    """A COMPLETED job's downloaded result, checked whole: ``jobOutputSize`` bytes and one line
    per input row after the header."""
    assert outcome.job["status"] == "COMPLETED", outcome.job
    download = outcome.download
    assert download is not None and download.result is not None, download
    assert download.status == 200 and download.content_type.startswith("text/csv")
    assert download.result.stat().st_size == outcome.job["jobOutputSize"]
    lines = 0
    with download.result.open("rb") as handle:
        while piece := handle.read(bad_inputs.PIECE):
            lines += piece.count(b"\n")
    assert lines == rows + 1
    return download.result


# --- rows that cannot be scored fail alone ----------------------------------------------------


def test_a_truncated_file_fails_only_its_cut_row(corpus: CorpusRun) -> None:
    outcome = corpus.outcomes["truncated"]
    assert (outcome.job["scoredRows"], outcome.job["failedRows"]) == (499, 1), outcome.job
    statuses = _statuses(_whole_result(outcome, 500))
    assert re.fullmatch(r"row has [1-4] fields, the header has 5", statuses[-1]), statuses[-1]
    assert set(statuses[:-1]) == {"OK"}


def test_ragged_rows_fail_with_their_field_counts(corpus: CorpusRun) -> None:
    outcome = corpus.outcomes["ragged"]
    assert (outcome.job["scoredRows"], outcome.job["failedRows"]) == (498, 2), outcome.job
    statuses = _statuses(_whole_result(outcome, 500))
    assert statuses[4] == "row has 6 fields, the header has 5"
    assert statuses[8] == "row has 4 fields, the header has 5"
    assert [i for i, s in enumerate(statuses) if s != "OK"] == [4, 8]


def test_a_wrong_type_fails_its_row_naming_column_and_value(corpus: CorpusRun) -> None:
    outcome = corpus.outcomes["wrong_types"]
    assert (outcome.job["scoredRows"], outcome.job["failedRows"]) == (499, 1), outcome.job
    rows = _rows(_whole_result(outcome, 500))
    assert rows[2]["prediction_status"] == "column 'age': 'twelve' is not a valid double"
    assert rows[2]["readmitted_PREDICTION"] == ""  # keeps its place, with empty predictions
    assert rows[2]["patient_id"] == GOOD.splitlines()[3].split(",")[0]


def test_many_bad_rows_are_all_counted_without_abort_on_error(corpus: CorpusRun) -> None:
    outcome = corpus.outcomes["many_bad_no_abort"]
    assert (outcome.job["scoredRows"], outcome.job["failedRows"]) == (500, MANY_BAD), outcome.job
    result = _whole_result(outcome, 500 + MANY_BAD)
    failed = [status for status in _statuses(result) if status != "OK"]
    assert failed == ["column 'age': 'oops' is not a valid double"] * MANY_BAD


def test_one_200_mib_line_fails_alone(corpus: CorpusRun) -> None:
    outcome = corpus.outcomes["long_line"]
    assert outcome.upload.status_code == 202, outcome.upload.text
    assert outcome.job["jobIntakeSize"] > LONG_LINE
    assert (outcome.job["scoredRows"], outcome.job["failedRows"]) == (500, 1), outcome.job
    result = _whole_result(outcome, 501)
    # read line by line in bounded pieces: the test never holds the long line
    heads: list[bytes] = []
    statuses: list[bytes] = []
    with result.open("rb") as handle:
        head = tail = b""
        while piece := handle.readline(bad_inputs.PIECE):
            head, tail = head or piece[:20], (tail + piece)[-200:]
            if piece.endswith(b"\n"):
                last_field = re.search(rb'"((?:[^"]|"")*)"\n$', tail)
                assert last_field, tail
                heads.append(head)
                statuses.append(last_field.group(1))
                head = tail = b""
    assert statuses[0] == b"prediction_status"
    assert statuses[3] == b"row has 1 fields, the header has 5"
    assert heads[3] == b'"' + b"9" * 19  # its one field is passed through as patient_id
    assert set(statuses[1:3] + statuses[4:]) == {b"OK"}


def test_a_header_only_input_completes_with_no_rows(corpus: CorpusRun) -> None:
    outcome = corpus.outcomes["header_only"]
    assert (outcome.job["scoredRows"], outcome.job["failedRows"]) == (0, 0), outcome.job
    assert _whole_result(outcome, 0).read_text().splitlines() == [
        '"patient_id","readmitted_no_PREDICTION","readmitted_yes_PREDICTION",'
        '"readmitted_PREDICTION","THRESHOLD","POSITIVE_CLASS","prediction_status"'
    ]


# --- jobs that cannot run end with the cause, and no result -----------------------------------


ENDINGS = {
    "many_bad": ("aborted", rf"aborted on errors: {MANY_BAD} of {500 + MANY_BAD} rows could not"),
    "all_bad": ("aborted", r"no row could be scored \(5 failed rows\)"),
    "bom_only": ("failed", r"the input is empty"),
    "blank_line": ("failed", r"the input is empty"),
    "missing_columns": (
        "failed",
        r"the input lacks the model's feature columns: visits_last_year, medications, "
        r"admission_type$",
    ),
    "binary": ("failed", r"the input cannot be read as CSV: .*not valid utf-8"),
}


@pytest.mark.parametrize("name", list(ENDINGS))
def test_a_job_that_cannot_run_names_the_cause_and_has_no_result(
    corpus: CorpusRun, name: str
) -> None:
    reason, cause = ENDINGS[name]
    outcome = corpus.outcomes[name]
    assert outcome.upload.status_code == 202, outcome.upload.text
    # every unsuccessful end is ABORTED on the wire; endReason tells failures from aborts
    assert (outcome.job["status"], outcome.job["endReason"]) == ("ABORTED", reason), outcome.job
    assert re.search(cause, outcome.job["statusDetails"]), outcome.job["statusDetails"]
    assert "Traceback" not in outcome.job["statusDetails"]
    download = outcome.download
    assert download is not None and download.result is None, download
    assert download.status == 404 and download.content_type.startswith("application/json")
    assert download.error is not None and download.error["errors"] == {"status": "ABORTED"}
    shown = "ABORTED (failed)" if reason == "failed" else "ABORTED"
    assert f"is {shown}: it has no result" in download.error["message"]


def test_every_bad_row_is_counted_when_all_fail(corpus: CorpusRun) -> None:
    assert corpus.outcomes["all_bad"].job["failedRows"] == 5


def test_an_aborted_job_counts_the_rows_that_failed(corpus: CorpusRun) -> None:
    job = corpus.outcomes["many_bad"].job
    found = re.search(r"(\d+) of (\d+) rows could not be scored", job["statusDetails"])
    assert found, job["statusDetails"]
    failed, processed = int(found.group(1)), int(found.group(2))
    assert (job["failedRows"], job["scoredRows"]) == (failed, processed - failed), job


def test_an_empty_upload_is_refused_and_the_job_waits_for_one(
    server: ServeProcess, corpus: CorpusRun
) -> None:
    outcome = corpus.outcomes["empty"]
    assert outcome.upload.status_code == 422, outcome.upload.text
    assert outcome.upload.json()["errors"] == {"body": "is empty"}
    assert outcome.job["status"] == "INITIALIZING", outcome.job
    assert outcome.download is not None and outcome.download.status == 409, outcome.download
    with server.http() as http:
        aborted = http.delete(f"batchPredictions/{outcome.job['id']}/")
        assert aborted.status_code == 202, aborted.text
        assert job_status(http, outcome.job["id"])["status"] == "ABORTED"


# --- the service keeps serving other jobs -----------------------------------------------------


def test_a_good_job_runs_through_the_corpus_and_completes(corpus: CorpusRun) -> None:
    good = corpus.good
    assert good.before["status"] == "RUNNING", good.before
    assert good.streamed_before >= 1 << 20  # it scored rows before the first bad job came
    assert good.after["status"] == "RUNNING", good.after
    first_start, last_end = corpus.bad_window
    assert good.job["started"] < first_start and good.job["finished"] > last_end
    rows = 500 * GOOD_COPIES
    assert good.upload.status_code == 202, good.upload.text
    assert good.job["status"] == "COMPLETED", good.job
    assert (good.job["scoredRows"], good.job["failedRows"]) == (rows, 0)
    result = _whole_result(Outcome(good.upload, good.job, good.download), rows)
    scored = _rows(result)
    assert {row["prediction_status"] for row in scored} == {"OK"}
    assert len({row["patient_id"] for row in scored}) == rows
    # the download streamed while the corpus ran is the same file
    assert good.streamed.read_bytes() == result.read_bytes()


def test_progress_is_reported_while_the_upload_streams(corpus: CorpusRun) -> None:
    assert corpus.good.after["scoredRows"] > 0, corpus.good.after


def test_the_service_still_serves_after_the_corpus(
    server: ServeProcess, deployment: str, corpus: CorpusRun, tmp_path: Path
) -> None:
    with server.http() as http:
        version = http.get("version/")
        assert version.status_code == 200 and version.json()["major"] >= 2, version.text
        job = submit_local_job(server, deployment, patients_csv(tmp_path / "again.csv"))
        done = wait_for_job(http, job["id"], _ended)
        outcome = (done["status"], done["scoredRows"], done["failedRows"])
        assert outcome == ("COMPLETED", 500, 0), (done, server.output())
        result = http.get(f"batchPredictions/{job['id']}/download/")
    assert result.status_code == 200 and len(result.text.splitlines()) == 501
    server_errors = [line for line in server.lines if re.search(r'HTTP/1\.1" 5\d\d', line)]
    assert server_errors == [], server_errors
    assert "Traceback" not in (server.home / "serve.log").read_text()


def test_the_official_client_reports_a_binary_file_named_csv(
    dr: Any, deployment: str, corpus: CorpusRun, tmp_path: Path
) -> None:
    source = tmp_path / "image.csv"
    source.write_bytes(bad_inputs.binary())
    scored = tmp_path / "scored.csv"
    # The client raises RuntimeError when its status poll sees the job failed. If its poll caught
    # the job RUNNING, for the instant before the header was read, it asks for the download and
    # gets a 404 (ClientError) instead: both carry the server's reason.
    reported = (RuntimeError, dr.errors.ClientError)
    with pytest.raises(reported, match=r"Job failed at .*: the input cannot be read as CSV"):
        dr.BatchPredictionJob.score_to_file(
            deployment, str(source), str(scored), passthrough_columns=["patient_id"]
        )
    assert scored.read_bytes() == b""  # nothing that could pass for a result


def test_missing_columns_are_422_at_submit_when_the_header_is_known(
    server: ServeProcess, deployment: str, corpus: CorpusRun
) -> None:
    with server.http() as http:
        stored = http.post(
            "datasets/fromFile/",
            files={"file": ("missing.csv", b"patient_id,age,other\nP1,3,4\n", "text/csv")},
        )
        assert stored.status_code == 202, stored.text
        intake = {"type": "dataset", "datasetId": stored.json()["catalogId"]}
        submitted = http.post(
            "batchPredictions/", json={**_spec(deployment), "intakeSettings": intake}
        )
    assert submitted.status_code == 422, submitted.text
    assert "visits_last_year, medications, admission_type" in submitted.json()["message"]
    assert "columns" in submitted.json()["errors"]["intakeSettings"]
