"""The job spec gate: defaults, validation naming the field, merge semantics (pure)."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wire_examples import SCORE_TO_FILE_BODY

from scorecast.domain.definition_names import ADJECTIVES, ANIMALS, generate_name
from scorecast.domain.job_spec import DEFAULT_NUM_CONCURRENT, JobSpec, merge_job_spec
from scorecast.errors import InvalidInput, UnsupportedFeature

MINIMAL = {"deploymentId": "dep1", "intakeSettings": {"type": "localFile"}}


def normalized(raw: Any) -> dict[str, Any]:
    """A spec's stored form: parsed, then written back."""
    return JobSpec.from_wire(raw).to_wire()


def errors_of(raw: Any) -> dict[str, Any]:
    with pytest.raises(InvalidInput) as caught:
        normalized(raw)
    assert not isinstance(caught.value, UnsupportedFeature)
    return caught.value.errors


def test_minimal_spec_gets_datarobot_defaults() -> None:
    spec = normalized(MINIMAL)
    assert spec["numConcurrent"] == DEFAULT_NUM_CONCURRENT == 2
    assert spec["chunkSize"] == "auto"
    assert spec["abortOnError"] is True
    assert spec["includeProbabilities"] is True
    assert spec["includeProbabilitiesClasses"] == []
    assert spec["includePredictionStatus"] is False
    assert spec["skipDriftTracking"] is False
    assert spec["maxExplanations"] == 0
    assert spec["passthroughColumns"] == []
    assert spec["passthroughColumnsSet"] is None
    assert spec["csvSettings"] == {"delimiter": ",", "quotechar": '"', "encoding": "utf-8"}
    assert spec["outputSettings"] == {"type": "localFile"}
    assert spec["columnNamesRemapping"] == {}


def test_the_python_clients_captured_body_is_accepted_as_sent() -> None:
    raw = copy.deepcopy(SCORE_TO_FILE_BODY)
    spec = normalized(raw)
    for key in ("numConcurrent", "maxExplanations", "abortOnError", "passthroughColumnsSet"):
        assert spec[key] == raw[key]
    assert spec["columnNamesRemapping"] == {"a": "A", "b": None}
    assert spec["csvSettings"]["delimiter"] == "\t"
    assert spec["predictionThreshold"] == 0.3


def test_adapter_settings_are_kept_verbatim_including_statement_type_spelling() -> None:
    output = {
        "type": "jdbc",
        "dataStoreId": "ds1",
        "table": "t",
        "statementType": "insert_update",
        "whereColumns": ["id"],
        "updateColumns": ["p"],
    }
    spec = normalized({**MINIMAL, "outputSettings": output})
    assert spec["outputSettings"] == output
    assert spec["outputSettings"] is not output
    camel = normalized({**MINIMAL, "outputSettings": {**output, "statementType": "insertUpdate"}})
    assert camel["outputSettings"]["statementType"] == "insertUpdate"


@pytest.mark.parametrize(
    ("raw", "path", "value_hint"),
    [
        ({"intakeSettings": {"type": "localFile"}}, ("deploymentId",), "required"),
        ({**MINIMAL, "deploymentId": 5}, ("deploymentId",), "string"),
        ({"deploymentId": "d"}, ("intakeSettings",), "required"),
        ({**MINIMAL, "intakeSettings": "s3"}, ("intakeSettings",), "object"),
        (
            {**MINIMAL, "intakeSettings": {"url": "s3://b/k"}},
            ("intakeSettings", "type"),
            "required",
        ),
        ({**MINIMAL, "outputSettings": {"type": ""}}, ("outputSettings", "type"), "required"),
        ({**MINIMAL, "numConcurrent": 0}, ("numConcurrent",), "between 1 and 64"),
        ({**MINIMAL, "numConcurrent": 65}, ("numConcurrent",), "between 1 and 64"),
        ({**MINIMAL, "numConcurrent": "4"}, ("numConcurrent",), "integer"),
        ({**MINIMAL, "numConcurrent": True}, ("numConcurrent",), "integer"),
        ({**MINIMAL, "chunkSize": "huge"}, ("chunkSize",), "auto"),
        ({**MINIMAL, "chunkSize": 0}, ("chunkSize",), "between"),
        ({**MINIMAL, "abortOnError": "yes"}, ("abortOnError",), "true or false"),
        ({**MINIMAL, "csvSettings": {"delimiter": ";;"}}, ("csvSettings", "delimiter"), "one"),
        ({**MINIMAL, "csvSettings": {"quotechar": ""}}, ("csvSettings", "quotechar"), "one"),
        (
            {**MINIMAL, "csvSettings": {"encoding": "klingon"}},
            ("csvSettings", "encoding"),
            "klingon",
        ),
        ({**MINIMAL, "csvSettings": {"delimiter": '"'}}, ("csvSettings", "quotechar"), "differ"),
        ({**MINIMAL, "csvSettings": {"sep": ","}}, ("csvSettings", "sep"), "unknown"),
        ({**MINIMAL, "predictionThreshold": 1.5}, ("predictionThreshold",), "range"),
        ({**MINIMAL, "thresholdHigh": "high"}, ("thresholdHigh",), "number"),
        ({**MINIMAL, "thresholdLow": 0.9, "thresholdHigh": 0.1}, ("thresholdLow",), "greater"),
        ({**MINIMAL, "passthroughColumns": "a"}, ("passthroughColumns",), "list"),
        ({**MINIMAL, "passthroughColumnsSet": "some"}, ("passthroughColumnsSet",), "all"),
        (
            {**MINIMAL, "passthroughColumns": ["a"], "passthroughColumnsSet": "all"},
            ("passthroughColumnsSet",),
            "combined",
        ),
        ({**MINIMAL, "maxExplanations": -1}, ("maxExplanations",), "between 0 and 100"),
        ({**MINIMAL, "maxNgramExplanations": "some"}, ("maxNgramExplanations",), "all"),
        ({**MINIMAL, "explanationAlgorithm": "lime"}, ("explanationAlgorithm",), "shap"),
        ({**MINIMAL, "explanationNumTopClasses": 11}, ("explanationNumTopClasses",), "10"),
        ({**MINIMAL, "columnNamesRemapping": {"a": 3}}, ("columnNamesRemapping",), "'a'"),
        ({**MINIMAL, "timeseriesSettings": "forecast"}, ("timeseriesSettings",), "object"),
        ({**MINIMAL, "batchJobType": "other"}, ("batchJobType",), "prediction"),
        ({**MINIMAL, "numConcurent": 3}, ("numConcurent",), "unknown field"),
    ],
)
def test_each_bad_field_is_named_with_its_problem(
    raw: dict[str, Any], path: tuple[str, ...], value_hint: str
) -> None:
    node: Any = errors_of(raw)
    for part in path:
        assert isinstance(node, dict), f"expected {part} in {node!r}"
        node = node[part]
    assert value_hint in node


def test_all_problems_are_reported_together_and_in_the_message() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalized({"numConcurrent": -2, "csvSettings": {"delimiter": "xx"}})
    error = caught.value
    assert set(error.errors) == {"numConcurrent", "csvSettings", "deploymentId", "intakeSettings"}
    assert "csvSettings.delimiter" in error.message
    assert "numConcurrent" in error.message


def test_a_body_that_is_not_an_object_is_invalid() -> None:
    assert "body" in errors_of(["deploymentId"])


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"modelId": "m1", "intakeSettings": {"type": "localFile"}}, "modelId"),
        ({**MINIMAL, "batchJobType": "monitoring"}, "batchJobType"),
        ({**MINIMAL, "timeseriesSettings": {"type": "forecast"}}, "timeseriesSettings"),
    ],
)
def test_datarobot_features_this_server_lacks_are_unsupported_not_ignored(
    raw: dict[str, Any], field: str
) -> None:
    with pytest.raises(UnsupportedFeature) as caught:
        normalized(raw)
    assert field in caught.value.errors


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ({"passthroughColumns": [""]}, "passthroughColumns", "empty strings"),
        ({"maxExplanations": 101}, "maxExplanations", "between 0 and 100"),
        ({"columnNamesRemapping": {"a": ""}}, "columnNamesRemapping", "non-empty string or null"),
        ({"chunkSize": (1 << 30) + 1}, "chunkSize", "between 1 and 1073741824"),
        ({"explanationClassNames": []}, "explanationClassNames", "between 1 and 10"),
        ({"explanationClassNames": ["a", "a"]}, "explanationClassNames", "more than once"),
    ],
)
def test_where_the_two_old_parsers_disagreed_the_spec_is_refused(
    extra: dict[str, Any], field: str, problem: str
) -> None:
    """One parser passed these and the other refused them (see limits-and-errors)."""
    errors = errors_of({**MINIMAL, "maxExplanations": 2, **extra})
    assert list(errors) == [field]
    assert problem in errors[field]


def test_an_empty_timeseries_settings_is_no_time_series() -> None:
    assert "timeseriesSettings" not in normalized({**MINIMAL, "timeseriesSettings": {}})


def test_column_remapping_list_form_becomes_a_mapping() -> None:
    raw = {
        **MINIMAL,
        "columnNamesRemapping": [
            {"inputName": "a", "outputName": "A"},
            {"inputName": "b", "outputName": None},
        ],
    }
    assert normalized(raw)["columnNamesRemapping"] == {"a": "A", "b": None}


def test_opaque_datarobot_keys_are_kept() -> None:
    instance = {"hostName": "pred.example.com", "sslEnabled": True}
    spec = normalized({**MINIMAL, "predictionInstance": instance})
    assert spec["predictionInstance"] == instance


def test_merge_replaces_adapter_settings_whole() -> None:
    base = normalized(
        {**MINIMAL, "intakeSettings": {"type": "s3", "url": "s3://b/k", "credentialId": "c"}}
    )
    merged = merge_job_spec(base, {"intakeSettings": {"type": "localFile"}, "numConcurrent": 7})
    assert merged["intakeSettings"] == {"type": "localFile"}
    assert merged["numConcurrent"] == 7
    assert merged["deploymentId"] == "dep1"
    assert base["intakeSettings"]["type"] == "s3"


def test_merge_switching_passthrough_modes_drops_the_other_mode() -> None:
    base = normalized({**MINIMAL, "passthroughColumns": ["a"]})
    merged = normalized(merge_job_spec(base, {"passthroughColumnsSet": "all"}))
    assert merged["passthroughColumnsSet"] == "all"
    assert merged["passthroughColumns"] == []


# -- properties ---------------------------------------------------------------------------

_names = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
_remappings = st.dictionaries(_names, st.one_of(st.none(), _names), max_size=3).filter(
    lambda remapping: _unique([new for new in remapping.values() if new is not None])
)


def _unique(names: list[str]) -> bool:
    return len(set(names)) == len(names)


_optional_fields = st.fixed_dictionaries(
    {},
    optional={
        "numConcurrent": st.integers(1, 64),
        "chunkSize": st.one_of(
            st.sampled_from(["auto", "fixed", "dynamic"]), st.integers(1, 10**8)
        ),
        "abortOnError": st.booleans(),
        "includeProbabilities": st.booleans(),
        "includePredictionStatus": st.booleans(),
        "skipDriftTracking": st.booleans(),
        "predictionWarningEnabled": st.booleans(),
        "maxExplanations": st.integers(0, 100),
        "predictionThreshold": st.floats(0, 1),
        "passthroughColumns": st.lists(_names, max_size=4),
        "includeProbabilitiesClasses": st.lists(_names, max_size=3),
        "columnNamesRemapping": _remappings,
        "csvSettings": st.fixed_dictionaries(
            {},
            optional={
                "delimiter": st.sampled_from([",", ";", "|", "tab"]),
                "quotechar": st.sampled_from(['"', "'"]),
                "encoding": st.sampled_from(["utf-8", "latin-1", "utf-16"]),
            },
        ),
        "outputSettings": st.sampled_from(
            [
                {"type": "localFile"},
                {"type": "s3", "url": "s3://b/k.csv"},
                {"type": "jdbc", "dataStoreId": "ds1", "table": "t", "statementType": "insert"},
                {
                    "type": "jdbc",
                    "dataStoreId": "ds1",
                    "table": "t",
                    "statementType": "insert_update",
                },
            ]
        ),
    },
)
_specs = _optional_fields.map(lambda extra: {**MINIMAL, **extra})


@given(_specs)
def test_normalizing_is_idempotent(raw: dict[str, Any]) -> None:
    once = normalized(raw)
    assert normalized(once) == once


@given(_specs)
def test_every_value_sent_is_kept_and_every_default_is_present(raw: dict[str, Any]) -> None:
    spec = normalized(raw)
    for key, value in raw.items():
        if key == "csvSettings":
            continue
        assert spec[key] == value
    assert isinstance(spec["numConcurrent"], int)
    delimiter = raw.get("csvSettings", {}).get("delimiter", ",")
    assert spec["csvSettings"]["delimiter"] == ("\t" if delimiter == "tab" else delimiter)
    assert set(spec["csvSettings"]) == {"delimiter", "quotechar", "encoding"}


@given(_specs, _optional_fields)
def test_merge_then_normalize_equals_normalize_of_the_union(
    base: dict[str, Any], changes: dict[str, Any]
) -> None:
    if "passthroughColumns" in changes or "passthroughColumnsSet" in changes:
        return
    merged = normalized(merge_job_spec(normalized(base), changes))
    assert merged == normalized({**base, **changes})


@given(st.integers(0, 2**32))
def test_generated_names_are_adjective_animal_and_avoid_taken_names(seed: int) -> None:
    taken: set[str] = set()
    rng = random.Random(seed)
    for _ in range(30):
        name = generate_name(rng, taken.__contains__)
        assert name not in taken
        adjective, animal = name.split("_")[:2]
        assert adjective in ADJECTIVES
        assert animal in ANIMALS
        taken.add(name)


def test_names_get_a_suffix_when_every_plain_name_is_taken() -> None:
    name = generate_name(random.Random(0), lambda candidate: candidate.count("_") == 1)
    assert name.count("_") == 2
    assert name.rsplit("_", 1)[1].isdigit()


@pytest.mark.parametrize(
    "remapping",
    [
        {"readmitted_no_PREDICTION": "x", "readmitted_yes_PREDICTION": "x"},
        [
            {"inputName": "a", "outputName": "x"},
            {"inputName": "b", "outputName": None},
            {"inputName": "c", "outputName": "x"},
        ],
    ],
)
def test_a_remapping_giving_two_columns_one_name_is_refused(remapping: object) -> None:
    errors = errors_of({**MINIMAL, "columnNamesRemapping": remapping})
    assert list(errors) == ["columnNamesRemapping"]
    assert "the same name 'x'" in errors["columnNamesRemapping"]


def test_a_remapping_dropping_several_columns_is_fine() -> None:
    raw = {**MINIMAL, "columnNamesRemapping": {"a": None, "b": None, "c": "a"}}
    assert normalized(raw)["columnNamesRemapping"] == {"a": None, "b": None, "c": "a"}


@pytest.mark.parametrize(
    ("intake", "output"),
    [
        ("file:///data/in.csv", "file:///data/in.csv"),
        ("file:///data/in.csv", "file://localhost/data/./in.csv"),
        ("file:///data/in.csv", "file:///data//sub/../in%2Ecsv"),
        ("file:///data/{job_id}.csv", "file:///data/{job_id}.csv"),
    ],
)
def test_an_output_onto_the_intakes_file_is_refused(intake: str, output: str) -> None:
    raw = {
        **MINIMAL,
        "intakeSettings": {"type": "filesystem", "url": intake},
        "outputSettings": {"type": "filesystem", "url": output},
    }
    errors = errors_of(raw)
    assert list(errors) == ["outputSettings"]
    assert "would replace the input" in errors["outputSettings"]["url"]


@pytest.mark.parametrize(
    ("intake", "output"),
    [
        (
            {"type": "filesystem", "url": "file:///data/in.csv"},
            {"type": "filesystem", "url": "file:///data/out.csv"},
        ),
        (
            {"type": "s3", "url": "s3://b/k.csv"},
            {"type": "s3", "url": "s3://b/k.csv", "endpointUrl": "https://minio.example"},
        ),
        ({"type": "s3", "url": "s3://b/in.csv"}, {"type": "s3", "url": "s3://b/out.csv"}),
        ({"type": "localFile"}, {"type": "localFile"}),
    ],
)
def test_an_output_elsewhere_is_accepted(intake: dict[str, str], output: dict[str, str]) -> None:
    normalized({**MINIMAL, "intakeSettings": intake, "outputSettings": output})


def test_an_s3_output_onto_the_intakes_object_is_accepted_as_datarobots_example_does() -> None:
    location = {"type": "s3", "url": "s3://foobar/123", "format": "csv"}
    normalized({**MINIMAL, "intakeSettings": location, "outputSettings": location})


def _nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


@pytest.mark.parametrize("key", ["explanationsMode", "secondaryDatasetsConfigId"])
def test_an_opaque_value_nested_too_deeply_is_refused_not_copied(key: str) -> None:
    assert normalized({**MINIMAL, key: _nested(32)})[key] == _nested(32)
    errors = errors_of({**MINIMAL, key: _nested(5000)})
    assert errors == {key: "is nested more than 32 levels deep"}
