"""The README's first command: ``scorecast serve --demo`` on a fresh home ends with a scored file,
keeps serving, and starts again on the same home without duplicating the demo."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from serving import ServeProcess

pytestmark = pytest.mark.e2e


def test_serve_demo_scores_the_demo_file_and_keeps_serving(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'scorecast.db'}"
    first = ServeProcess(home, url, "--demo").start()
    try:
        assert first.token
        line = first.wait_for_line(r"^demo: (scored file|failed|job .* ended)")
        found = re.match(r"demo: scored file: (.+)$", line)
        assert found, first.output()
        scored = Path(found.group(1))
        assert scored == home / "demo" / "patients_scored.csv"
        frame = pd.read_csv(scored)
        assert len(frame) == 500 and frame["patient_id"].is_unique
        assert set(frame["prediction_status"]) == {"OK"}
        assert frame["readmitted_PREDICTION"].isin(["yes", "no"]).all()
        with first.http() as http:  # still serving, with the token it printed
            definitions = http.get("batchPredictionJobDefinitions/").json()["data"]
            assert [d["name"] for d in definitions] == ["demo_readmission_daily"]
            assert definitions[0]["lastStartedJobStatus"] == "COMPLETED"
    finally:
        assert first.stop() == 0
    second = ServeProcess(home, url, "--demo").start()
    try:
        assert second.token is None  # printed once, on the first start only
        second.wait_for_line(r"^demo: scored file: ")
        with second.http(first.token) as http:
            assert http.get("deployments/").json()["totalCount"] == 1
            jobs = http.get("batchPredictions/").json()["data"]
            assert [job["status"] for job in jobs] == ["COMPLETED", "COMPLETED"]
    finally:
        assert second.stop() == 0
    log = (home / "serve.log").read_text()
    assert " ERROR " not in log and "Traceback" not in log, log[-4000:]
