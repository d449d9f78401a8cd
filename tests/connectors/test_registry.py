"""Submit-time validation of adapter settings: types, required keys, spellings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from context import settings_for

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.connectors.checks import Side
from scorecast.connectors.registry import (
    CONNECTORS,
    UNSUPPORTED_TYPES,
    ConnectorType,
    connector_types,
    validate_intake_settings,
    validate_output_settings,
)
from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.location_templates import run_values
from scorecast.errors import InvalidInput, UnsupportedFeature


@pytest.fixture
def app(tmp_path: Path) -> Settings:
    (tmp_path / "root").mkdir()
    return settings_for(tmp_path, tmp_path / "root", allow_private=False)


@pytest.mark.parametrize("type_name", UNSUPPORTED_TYPES)
def test_types_we_do_not_implement_are_422_not_supported(type_name: str, app: Settings) -> None:
    for validate in (validate_intake_settings, validate_output_settings):
        with pytest.raises(UnsupportedFeature, match="not supported by this server") as caught:
            validate({"type": type_name, "dataStoreId": "x"}, app_settings=app)
        assert caught.value.status_code == 422


def test_unknown_type_and_intake_only_types(app: Settings) -> None:
    with pytest.raises(UnsupportedFeature, match="'ftp' is not supported"):
        validate_intake_settings({"type": "ftp"}, app_settings=app)
    with pytest.raises(UnsupportedFeature, match="output type 'dataset'"):
        validate_output_settings({"type": "dataset", "datasetId": "d"}, app_settings=app)
    with pytest.raises(InvalidInput) as caught:
        validate_intake_settings({}, app_settings=app)
    assert caught.value.errors == {"intakeSettings": {"type": "is required"}}
    assert connector_types() == sorted(
        ["s3", "azure", "gcp", "jdbc", "dataset", "filesystem", "localFile"]
    )
    assert "dataset" not in connector_types("output")


def test_an_unknown_type_is_refused_naming_the_types_of_its_side(app: Settings) -> None:
    """The message the API answers with (422): the side's types, so a typo is easy to fix."""
    with pytest.raises(UnsupportedFeature) as intake:
        validate_intake_settings({"type": "s4"}, app_settings=app)
    assert intake.value.errors == {
        "intakeSettings": {
            "type": "intake type 's4' is not supported by this server; supported: azure, "
            "dataset, filesystem, gcp, jdbc, localFile, s3"
        }
    }
    with pytest.raises(UnsupportedFeature) as output:
        validate_output_settings({"type": "dataset"}, app_settings=app)
    assert output.value.message.endswith("supported: azure, filesystem, gcp, jdbc, localFile, s3")


@pytest.mark.parametrize("type_name", sorted(CONNECTORS))
def test_every_type_loads_a_connector_that_validates_its_own_settings(type_name: str) -> None:
    """Each row of the table loads its module (no registration by import side effects)."""
    connector = CONNECTORS[type_name].load()
    with pytest.raises(InvalidInput) as refused:
        connector.validate({"type": type_name, "no such key": 1}, "intake", Settings.from_env())
    assert "no such key" in refused.value.errors


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("intake", {"type": "s3"}, "url"),
    ("intake", {"type": "s3", "url": 5}, "url"),
    ("intake", {"type": "s3", "url": "s3://bucket"}, "url"),
    ("intake", {"type": "s3", "url": "s3://b/k", "format": "xlsx"}, "format"),
    ("intake", {"type": "s3", "url": "s3://b/k", "credentialId": 3}, "credentialId"),
    ("intake", {"type": "s3", "url": "s3://b/k", "bogus": 1}, "bogus"),
    ("intake", {"type": "azure", "url": "https://acct.blob.core.windows.net/c"}, "url"),
    ("intake", {"type": "gcp", "url": "gs://bucket/"}, "url"),
    ("intake", {"type": "jdbc", "table": "t"}, "dataStoreId"),
    ("intake", {"type": "jdbc", "dataStoreId": "d"}, "table"),
    ("intake", {"type": "jdbc", "dataStoreId": "d", "table": "t", "query": "select 1"}, "table"),
    ("intake", {"type": "jdbc", "dataStoreId": "d", "table": "t", "fetchSize": 0}, "fetchSize"),
    ("intake", {"type": "dataset"}, "datasetId"),
    ("intake", {"type": "localFile", "multipart": "yes"}, "multipart"),
    ("output", {"type": "jdbc", "dataStoreId": "d", "statementType": "insert"}, "table"),
    ("output", {"type": "jdbc", "dataStoreId": "d", "table": "t"}, "statementType"),
    (
        "output",
        {"type": "jdbc", "dataStoreId": "d", "table": "t", "statementType": "merge"},
        "statementType",
    ),
    (
        "output",
        {
            "type": "jdbc",
            "dataStoreId": "d",
            "table": "t",
            "statementType": "update",
            "whereColumns": ["id"],
        },
        "updateColumns",
    ),
    (
        "output",
        {"type": "jdbc", "dataStoreId": "d", "table": "t", "statementType": "insert_update"},
        "whereColumns",
    ),
    (
        "output",
        {
            "type": "jdbc",
            "dataStoreId": "d",
            "table": "t",
            "statementType": "insert",
            "createTableIfNotExists": "yes",
        },
        "createTableIfNotExists",
    ),
]


@pytest.mark.parametrize(("side", "adapter", "key"), CASES)
def test_bad_settings_name_the_field(
    side: str, adapter: dict[str, Any], key: str, app: Settings
) -> None:
    validate = validate_intake_settings if side == "intake" else validate_output_settings
    with pytest.raises(InvalidInput) as caught:
        validate(adapter, app_settings=app)
    assert key in caught.value.errors[f"{side}Settings"]
    assert not isinstance(caught.value, UnsupportedFeature)


@pytest.mark.parametrize(
    "statement",
    ["insert", "update", "insertUpdate", "insert_update", "createTable", "create_table"],
)
def test_all_six_statement_spellings_are_echoed_as_sent(statement: str, app: Settings) -> None:
    adapter = {
        "type": "jdbc",
        "dataStoreId": "d",
        "table": "t",
        "statementType": statement,
        "whereColumns": ["id"],
        "updateColumns": ["score"],
        "commitInterval": 600,
    }
    assert validate_output_settings(adapter, app_settings=app) == adapter


def test_client_shapes_pass(app: Settings) -> None:
    """What the official client sends for score_s3 / score_azure / score_gcp / datasets."""
    good = [
        {
            "type": "s3",
            "url": "s3://b/in.csv",
            "credentialId": "6aca",
            "endpointUrl": "https://minio.example.com",
        },
        {"type": "s3", "url": "s3://b/in.parquet", "format": "parquet"},
        {
            "type": "azure",
            "url": "https://acct.blob.core.windows.net/c/dir/in.csv",
            "credentialId": "x",
        },
        {"type": "gcp", "url": "https://storage.googleapis.com/b/in.csv", "credentialId": "x"},
        {"type": "gcp", "url": "gs://b/o/in.csv"},
        {
            "type": "jdbc",
            "dataStoreId": "d",
            "credentialId": "c",
            "query": "SELECT * FROM t WHERE a = ';'",
            "fetchSize": 1000,
        },
        {"type": "jdbc", "dataStoreId": "d", "table": "t", "schema": "public", "catalog": "db"},
        {"type": "dataset", "datasetId": "d", "datasetVersionId": "v"},
        {"type": "localFile"},
    ]
    for adapter in good:
        assert validate_intake_settings(adapter, app_settings=app) == adapter


class _Nothing(Intake):
    def chunks(self, target_bytes: Any) -> Any:
        return iter(())


class _NothingConnector:
    """A connector type of this test only: any settings, an intake of no rows, no output."""

    def validate(self, config: Any, side: Side, app_settings: Settings) -> dict[str, Any]:
        return dict(config)

    def open_intake(self, intake: Any, ctx: ConnectorContext, csv: CsvSettings) -> Intake:
        return _Nothing()

    def open_output(self, output: Any, ctx: ConnectorContext, csv: CsvSettings) -> Output:
        raise AssertionError("never asked: the type offers no output")


def test_a_new_type_is_one_row_of_the_table(app: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CONNECTORS, "nothing-test", ConnectorType(_NothingConnector, output=False))
    assert validate_intake_settings({"type": "nothing-test", "x": 1}, app_settings=app) == {
        "type": "nothing-test",
        "x": 1,
    }
    with pytest.raises(UnsupportedFeature, match=r"supported: .*localFile"):
        validate_output_settings({"type": "nothing-test"}, app_settings=app)
    assert "nothing-test" in connector_types("intake")


def test_placeholders_are_filled_then_checked_again(tmp_path: Path) -> None:
    from context import make_context

    from scorecast.connectors.registry import apply_template, open_output

    values = run_values(
        "j1", 2, datetime(2024, 5, 4, 3, 0, tzinfo=UTC), datetime(2024, 5, 5, 1, 2, 3, tzinfo=UTC)
    )
    adapter = {
        "type": "s3",
        "url": "s3://b/out/{scheduled_time:%Y/%m/%d}/{job_id}-{attempt}-{{x}}.csv",
        "table": "scored_{created_time}",
    }
    filled = apply_template(adapter, values)
    assert filled["url"] == "s3://b/out/2024/05/05/j1-2-{x}.csv"
    assert filled["table"] == "scored_20240504T030000Z"
    with pytest.raises(InvalidInput, match=r"unknown placeholder \{name\}") as unknown:
        apply_template({"type": "s3", "url": "s3://b/scored_{name}.csv"}, values)
    assert set(unknown.value.errors) == {"url"}
    (tmp_path / "root").mkdir(exist_ok=True)
    settings = settings_for(tmp_path, tmp_path / "root")
    ctx = make_context(settings)
    ctx.template = {**values, "job_id": "../../etc"}
    with pytest.raises(InvalidInput, match=r"'\.\.'"):
        open_output(
            {"type": "filesystem", "url": f"{(tmp_path / 'root').as_uri()}/{{job_id}}/x.csv"}, ctx
        )


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("s3://b/scored_{name}.csv", r"unknown placeholder \{name\}; valid: \{attempt\}, "),
        ("s3://b/{}.csv", r"unknown placeholder \{\}"),
        ("s3://b/{job_id!r}.csv", r"takes no !r conversion"),
        ("s3://b/{attempt:03d}.csv", r"takes no format"),
        ("s3://b/{scheduled_time.csv", r"expected '\}'"),
        ("s3://b/{scheduled_time:%Y/../..}/x.csv", r"'\.\.'"),
    ],
)
def test_a_bad_placeholder_is_refused_at_submit_naming_it(
    tmp_path: Path, url: str, problem: str
) -> None:
    app = settings_for(tmp_path, tmp_path)
    with pytest.raises(InvalidInput, match=problem) as refused:
        validate_output_settings({"type": "s3", "url": url}, app_settings=app)
    assert set(refused.value.errors["outputSettings"]) == {"url"}, refused.value.errors


def test_valid_placeholders_pass_the_submit_check_unchanged(tmp_path: Path) -> None:
    app = settings_for(tmp_path, tmp_path)
    url = "s3://b/{scheduled_time:%Y/%m/%d}/{job_id}-{attempt}-{created_time}.csv"
    checked = validate_output_settings({"type": "s3", "url": url}, app_settings=app)
    assert checked["url"] == url


def test_validating_file_and_upload_settings_loads_no_data_library(tmp_path: Path) -> None:
    """The service process validates every submit; it must not load pyarrow doing so."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from scorecast.config import Settings\n"
        "from scorecast.connectors.registry import validate_intake_settings as intake\n"
        "from scorecast.connectors.registry import validate_output_settings as output\n"
        "app = Settings(home=Path(sys.argv[1]), database_url='sqlite://')\n"
        "intake({'type': 'localFile'}, app_settings=app)\n"
        "output({'type': 'localFile'}, app_settings=app)\n"
        "intake({'type': 's3', 'url': 's3://b/in.csv'}, app_settings=app)\n"
        "intake({'type': 'dataset', 'datasetId': 'd'}, app_settings=app)\n"
        "print(sorted(m for m in ('pyarrow', 'numpy') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip() == "[]", done.stderr
