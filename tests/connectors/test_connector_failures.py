"""Failures name the location and the cause and never carry a secret."""

from __future__ import annotations

import pytest
from backend_factory import make_backend
from backends import Backend

from scorecast.config import Settings
from scorecast.connectors.registry import open_intake, open_output
from scorecast.errors import ConnectorError


def _fail(backend: Backend, adapter: dict[str, object], output: bool = False) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught:
        if output:
            sink = open_output(adapter, backend.ctx)
            try:
                import pyarrow as pa

                sink.write(pa.record_batch({"a": [1]}))
                sink.commit()
            finally:
                sink.abort()
        else:
            intake = open_intake(adapter, backend.ctx)
            try:
                list(intake.chunks(1000))
            finally:
                intake.close()
    return caught.value


def test_azure_wrong_key_fails_without_showing_it(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend("azure", request, app_settings)
    name = backend.new_name("csv")
    good = backend.credentials["azcred"]["azureConnectionString"]
    wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ=="
    backend.credentials["bad"] = {
        "azureConnectionString": good.replace(good.split("AccountKey=")[1].split(";")[0], wrong_key)
    }
    adapter = {**backend.settings_for(name, "csv", "intake"), "credentialId": "bad"}
    for output in (False, True):
        error = _fail(backend, adapter, output)
        assert name in error.message
        assert wrong_key not in error.message and wrong_key[:20] not in error.message
        assert not backend.exists(name)


def test_azure_credential_for_another_account(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend("azure", request, app_settings)
    adapter = backend.settings_for("x.csv", "csv", "intake")
    adapter["url"] = str(adapter["url"]).replace("devstoreaccount1", "otheraccount")
    assert "otheraccount" in _fail(backend, adapter).message


def test_azure_malformed_connection_string(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend("azure", request, app_settings)
    backend.credentials["bad"] = {"azureConnectionString": "AccountKey=topsecret;nonsense"}
    adapter = {**backend.settings_for("x.csv", "csv", "intake"), "credentialId": "bad"}
    error = _fail(backend, adapter)
    assert "topsecret" not in error.message and "connection string" in error.message


@pytest.mark.parametrize("kind", ["s3", "gcp", "azure"])
def test_missing_bucket_or_container(
    kind: str, request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend(kind, request, app_settings)
    adapter = backend.settings_for("x.csv", "csv", "output")
    adapter["url"] = str(adapter["url"]).replace("contract", "no-such-bucket")
    for output in (False, True):
        error = _fail(backend, adapter, output)
        assert "no-such-bucket" in error.message
        assert "does not exist" in error.message or "404" in error.message


def test_s3_endpoint_that_does_not_answer(
    request: pytest.FixtureRequest, app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # one attempt: botocore's default five, with their back-off, took 10 s to the same error
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    backend = make_backend("s3", request, app_settings)
    adapter = {
        **backend.settings_for("x.csv", "csv", "intake"),
        "endpointUrl": "http://127.0.0.1:9",
    }
    error = _fail(backend, adapter)
    assert "s3://contract/data/x.csv" in error.message
    assert "testing" not in error.message.replace("data/", "")


def test_invalid_parquet_names_the_location(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend("s3", request, app_settings)
    name = backend.new_name("parquet")
    backend.client.put_object(Bucket="contract", Key=f"data/{name}", Body=b"not parquet")  # type: ignore[attr-defined]
    error = _fail(backend, backend.settings_for(name, "parquet", "intake"))
    assert name in error.message and "Parquet" in error.message


@pytest.mark.parametrize("kind", ["jdbc-postgres", "jdbc-mariadb", "s3", "filesystem"])
def test_header_is_known_before_reading(
    kind: str, request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    import pyarrow as pa

    backend = make_backend(kind, request, app_settings)
    fmt = backend.formats[0]
    name = backend.new_name(fmt)
    backend.put(name, pa.table({"id": [1], "score": [0.5]}), fmt)
    intake = open_intake(backend.settings_for(name, fmt, "intake"), backend.ctx)
    assert intake.header() == ["id", "score"]
    intake.close()


@pytest.mark.parametrize("kind", ["s3", "azure", "gcp", "jdbc-postgres"])
def test_a_credential_of_the_wrong_type_fails(
    kind: str, request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    backend = make_backend(kind, request, app_settings)
    backend.credentials["other"] = {"credentialType": "oauth", "token": "tok-secret"}
    fmt = backend.formats[0]
    adapter = {
        **backend.settings_for(backend.new_name(fmt), fmt, "intake"),
        "credentialId": "other",
    }
    error = _fail(backend, adapter)
    assert "'oauth'" in error.message and "tok-secret" not in error.message


def test_an_s3_session_token_with_a_line_break_is_never_quoted(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    """A token stored before credentials refused line breaks: http.client refuses the header
    and quotes its value; the job's message names the error's type, never the text."""
    backend = make_backend("s3", request, app_settings)
    token = "IQoJb3JpZ2luX2VjSECRETSESSIONTOKEN0123456789"
    backend.credentials["newline"] = {
        "credentialType": "s3",
        "awsAccessKeyId": "testing",
        "awsSecretAccessKey": "testing",
        "awsSessionToken": token + "\n",
    }
    adapter = {**backend.settings_for("x.csv", "csv", "intake"), "credentialId": "newline"}
    for output in (False, True):
        error = _fail(backend, adapter, output)
        assert "s3://contract/data/x.csv" in error.message
        assert "HTTPClientError" in error.message
        assert token not in error.message and token[:12] not in error.message


def test_a_gcs_store_gone_mid_upload_never_shows_the_session_url(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The resumable session's URL (with its upload_id, which lets anyone finish the upload)
    is in a connection error's text; the message has the error's type and host only."""
    import emulators
    import pyarrow as pa
    from context import make_context
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    from scorecast.connectors.base import OutputToken
    from scorecast.connectors.gcp import PART_SIZE

    rows = pa.record_batch({"x": ["y" * 1000] * (PART_SIZE // 1000 + 100)})
    with emulators.gcs() as gcs:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs.endpoint)
        client = storage.Client(
            project="test",
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options={"api_endpoint": gcs.endpoint},
        )
        client.create_bucket("gone")
        ctx = make_context(app_settings)
        ctx.output_token = OutputToken("job-1", 1)
        output = open_output({"type": "gcp", "url": "gs://gone/out.csv"}, ctx)
        output.write(rows)  # more than one part: the session is open
    with pytest.raises(ConnectorError) as caught:
        output.write(rows)
        output.commit()
    output.abort()
    message = caught.value.message
    assert "gs://gone/out.csv" in message and f"127.0.0.1:{gcs.port}" in message
    assert "upload_id" not in message and "/upload/" not in message
