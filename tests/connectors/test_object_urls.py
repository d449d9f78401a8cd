"""The ``url`` of an object store names one object and carries nothing else: a query (an
Azure SAS, a GCS signed URL), a fragment, a path starting with '//' or a port in a bucket is a 422
naming ``url`` at submit, never quoting the URL, and a job stored before fails when it opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from context import make_context, settings_for

from scorecast.config import Settings
from scorecast.connectors.registry import (
    open_intake,
    validate_intake_settings,
    validate_output_settings,
)
from scorecast.errors import InvalidInput

SIGNATURE = "SECRETSIGNATUREabc123"
AZURE = "https://acct.blob.core.windows.net/container"
REFUSED = [
    ("azure", f"{AZURE}/in.csv?sv=2022-11-02&sp=r&sig={SIGNATURE}%3D"),
    ("azure", f"http://127.0.0.1:10000/devstoreaccount1/c/in.csv?sig={SIGNATURE}"),
    ("azure", f"{AZURE}/in.csv#{SIGNATURE}"),
    ("azure", f"{AZURE}/in.csv?"),
    ("azure", f"https://acct.blob.core.windows.net//container/in.csv#{SIGNATURE}"),
    ("azure", "http://127.0.0.1:10000//devstoreaccount1/c/in.csv"),
    ("gcp", f"https://storage.googleapis.com/b/in.csv?X-Goog-Signature={SIGNATURE}"),
    ("gcp", f"gs://b/in.csv?X-Goog-Signature={SIGNATURE}"),
    ("gcp", f"gs://b/in.csv#{SIGNATURE}"),
    ("gcp", "gs://b//in.csv"),
    ("gcp", "gs://b:99/in.csv"),
    ("gcp", "https://storage.googleapis.com:8443/b/in.csv"),
    ("gcp", "https://storage.googleapis.com//b/in.csv"),
    ("s3", f"s3://bkt1/in.csv?X-Amz-Signature={SIGNATURE}"),
    ("s3", f"s3://bkt1/in#{SIGNATURE}.csv"),
    ("s3", "s3://bkt1/in?.csv"),
    ("s3", "s3://bkt1//in.csv"),
    ("s3", "s3://bkt1:99/in.csv"),
    ("s3", "s3://bkt1:/in.csv"),
]
ACCEPTED = [
    ("azure", f"{AZURE}/dir/in.csv"),
    ("azure", "http://127.0.0.1:10000/devstoreaccount1/c/in.csv"),
    ("gcp", "gs://b/dir/in.csv"),
    ("gcp", "https://storage.googleapis.com/b/dir/in.csv"),
    ("s3", "s3://bkt1/dir/in.csv"),
    # an S3 or GCS name may hold "//": kept as it is (only a leading one would be dropped)
    ("gcp", "gs://b/dir//in.csv"),
    ("s3", "s3://bkt1/a//in.csv"),
]


def _settings(tmp_path: Path) -> Settings:
    (tmp_path / "root").mkdir(exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    return settings_for(tmp_path / "home", tmp_path / "root")


@pytest.mark.parametrize(("kind", "url"), REFUSED)
def test_is_422_naming_url_without_quoting_it(tmp_path: Path, kind: str, url: str) -> None:
    settings = _settings(tmp_path)
    for validate, side in (
        (validate_intake_settings, "intakeSettings"),
        (validate_output_settings, "outputSettings"),
    ):
        with pytest.raises(InvalidInput) as caught:
            validate({"type": kind, "url": url}, app_settings=settings)
        assert list(caught.value.errors) == [side]
        assert set(caught.value.errors[side]) == {"url"}, caught.value.errors
        assert SIGNATURE not in str(caught.value.errors) and SIGNATURE not in caught.value.message
        if "?" in url and "#" not in url:
            assert "use a credential" in caught.value.errors[side]["url"]


@pytest.mark.parametrize(("kind", "url"), REFUSED)
def test_a_job_stored_before_fails_when_it_opens(tmp_path: Path, kind: str, url: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        open_intake({"type": kind, "url": url}, make_context(_settings(tmp_path)))
    assert SIGNATURE not in caught.value.message


@pytest.mark.parametrize(("kind", "url"), ACCEPTED)
def test_an_object_url_passes(tmp_path: Path, kind: str, url: str) -> None:
    adapter = {"type": kind, "url": url}
    assert validate_intake_settings(adapter, app_settings=_settings(tmp_path)) == adapter
