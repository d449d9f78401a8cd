"""Values that used to answer 500: huge numbers in queries and bodies, lone surrogates, dates
before year 1 in UTC. Each is a 422 naming its field; an unexpected error is a 500 that says
``Connection: close``."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from api_helpers import (  # noqa: F401 (the *_fixture names are pytest fixtures)
    Api,
    api_a_fixture,
    assert_json_error,
    deployment_a_fixture,
    shared_api_a_fixture,
)
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from live_api import (  # noqa: F401 (file_root_settings_fixture is the settings fixture)
    LiveServer,
    file_root_settings_fixture,
    serve_app,
)
from scorecast.api.json_values import MAX_JSON_DEPTH, MAX_JSON_INTEGER, check_json_values
from scorecast.config import Settings
from scorecast.errors import InvalidInput

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
SHARED_SQLITE = pytest.mark.parametrize("shared_live_server", ["sqlite"], indirect=True)
HUGE = "99999999999999999999999"
LISTS = [
    "datasets/",
    "deployments/",
    "credentials/",
    "externalDataStores/",
    "batchPredictions/",
    "batchPredictionJobDefinitions/",
]


@SHARED_SQLITE
@pytest.mark.parametrize("route", LISTS)
@pytest.mark.parametrize("value", [HUGE, "9223372036854775808", "2147483648"])
def test_a_huge_offset_is_422_naming_it(shared_api_a: Api, route: str, value: str) -> None:
    body = assert_json_error(shared_api_a.get(route, params={"offset": value}), 422)
    assert set(body["errors"]) == {"offset"}


@SHARED_SQLITE
@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cutoffHours": HUGE}, "cutoffHours"),
        ({"cutoffHours": "1000001"}, "cutoffHours"),
        ({"limit": HUGE}, "limit"),
        ({"startDateTime": "0001-01-01T00:00:00+01:00"}, "startDateTime"),
        ({"endDateTime": "0001-01-01T00:00:00+01:00"}, "endDateTime"),
    ],
)
def test_huge_job_list_filters_are_422_naming_them(
    shared_api_a: Api, params: dict[str, str], field: str
) -> None:
    body = assert_json_error(shared_api_a.get("batchPredictions/", params=params), 422)
    assert set(body["errors"]) == {field}


@pytest.mark.parametrize(
    ("route", "field"),
    [
        ("batchPredictionJobDefinitions/?searchName=t1%00qqq", "searchName"),
        ("batchPredictions/?jobId=%00", "jobId"),
        (f"batchPredictions/{'a' * 23}%00/", "path"),
    ],
)
def test_a_nul_in_a_path_or_query_is_422_naming_it_on_both_stores(
    shared_api_a: Api, route: str, field: str
) -> None:
    """PostgreSQL refused it (a 422 naming only ``body``); SQLite's search stopped at it and
    found ``t1``."""
    errors = assert_json_error(shared_api_a.get(route), 422)["errors"]
    assert errors == {field: "must not contain a NUL character (%00)"}
    assert shared_api_a.get("batchPredictionJobDefinitions/?searchName=%2500").status_code == 200


@pytest.mark.parametrize("slash", ["%2F", "%2f"])
def test_an_encoded_slash_in_a_path_is_422_not_more_path(
    api_a: Api, deployment_a: str, slash: str
) -> None:
    """Routes match the decoded path: ``deployments/<id>%2Fsettings/`` answered as
    ``deployments/<id>/settings/`` (an id holding a slash reached another route)."""
    assert api_a.get(f"deployments/{deployment_a}/settings/").status_code == 200
    errors = assert_json_error(api_a.get(f"deployments/{deployment_a}{slash}settings/"), 422)
    assert errors["errors"] == {
        "path": "must not contain an encoded slash (%2F): no id or name in a path holds one"
    }
    assert api_a.get("batchPredictionJobDefinitions/?searchName=a%2Fb").status_code == 200


@SQLITE
@pytest.mark.parametrize("part", ["1e3", "-1", "x"])
def test_a_bad_part_number_is_422_naming_it_as_the_wire_does(api_a: Api, part: str) -> None:
    """The range check names ``partNumber``; the type check named ``part_number``."""
    answer = api_a.put(f"batchPredictions/{'a' * 24}/csvUpload/part/{part}/", content=b"a\n1\n")
    errors = assert_json_error(answer, 422)["errors"]
    assert set(errors) == {"partNumber"}, errors


@SQLITE
def test_the_largest_offset_and_cutoff_are_answered(api_a: Api) -> None:
    params = {"offset": str(2**31 - 1), "cutoffHours": "1000000"}
    response = api_a.get("batchPredictions/", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["data"] == []


def _post_raw(api: Api, route: str, text: str) -> httpx.Response:
    response: httpx.Response = api.post(
        route, content=text.encode(), headers={"Content-Type": "application/json"}
    )
    return response


@SQLITE
@pytest.mark.parametrize(
    ("route", "text", "errors"),
    [
        (
            "credentials/",
            '{"name": "\\ud800", "credentialType": "basic", "user": "u", "password": "p"}',
            {"name": "contains a lone surrogate (not Unicode text)"},
        ),
        (
            "batchPredictionJobDefinitions/",
            '{"name": "a\\udfffb", "deploymentId": "x"}',
            {"name": "contains a lone surrogate (not Unicode text)"},
        ),
        (
            "externalDataStores/",
            '{"params": {"\\ud83d": 1}}',
            {"params": {"\\ud83d": "this key contains a lone surrogate"}},
        ),
        (
            "batchPredictions/",
            '{"deploymentId": "x", "numConcurrent": ' + HUGE + "}",
            {"numConcurrent": f"is out of range (integers must be within +-{MAX_JSON_INTEGER})"},
        ),
        (
            "batchPredictions/",
            '{"deploymentId": "x", "passthroughColumns": ["a", 1e400]}',
            {"passthroughColumns": {"1": "must be a finite number"}},
        ),
        (
            "batchPredictions/",
            '{"deploymentId": "x", "predictionThreshold": NaN}',
            {"predictionThreshold": "must be a finite number"},
        ),
        (  # PostgreSQL answered 422 naming only "body"; SQLite stored it
            "batchPredictionJobDefinitions/",
            '{"name": "t1\\u0000qqq", "deploymentId": "x"}',
            {"name": "contains a NUL character (\\u0000), which no text column can hold"},
        ),
        (
            "externalDataStores/",
            '{"params": {"a\\u0000": 1}}',
            {
                "params": {
                    "a\\x00": "this key contains a NUL character (\\u0000), which no text "
                    "column can hold"
                }
            },
        ),
    ],
)
def test_values_json_cannot_carry_everywhere_are_422_naming_the_field(
    api_a: Api, route: str, text: str, errors: dict[str, Any]
) -> None:
    body = assert_json_error(_post_raw(api_a, route, text), 422)
    assert body["errors"] == errors


@SQLITE
def test_a_lone_surrogate_in_a_label_is_refused_and_the_label_kept(
    api_a: Api, deployment_a: str
) -> None:
    route = f"deployments/{deployment_a}/"
    before = api_a.get(route).json()["label"]
    response = api_a.patch(
        route, content=b'{"label": "\\ud800"}', headers={"Content-Type": "application/json"}
    )
    assert assert_json_error(response, 422)["errors"] == {
        "label": "contains a lone surrogate (not Unicode text)"
    }
    assert api_a.get(route).json()["label"] == before


@SQLITE
@pytest.mark.parametrize("number", [0, 65, 10**6])
def test_num_concurrent_has_a_documented_maximum(
    api_a: Api, deployment_a: str, number: int
) -> None:
    spec = {
        "deploymentId": deployment_a,
        "intakeSettings": {"type": "localFile"},
        "outputSettings": {"type": "localFile"},
        "numConcurrent": number,
    }
    body = assert_json_error(api_a.post("batchPredictions/", json=spec), 422)
    assert body["errors"] == {"numConcurrent": "must be an integer between 1 and 64"}


@SQLITE
def test_an_unexpected_error_is_a_json_500_that_closes_the_connection(
    settings: Settings, live_server: LiveServer
) -> None:
    from scorecast.api.app import create_app

    app = create_app(settings, live_server.engine)

    @app.get("/api/v2/broken/")
    def broken() -> None:
        raise RuntimeError("a bug")

    with (
        serve_app(settings, live_server.engine, app) as base_url,
        httpx.Client(base_url=base_url, headers=live_server.headers()) as client,
    ):
        response = client.get("/api/v2/broken/")
        assert response.status_code == 500
        assert response.headers["connection"] == "close"
        assert response.headers["content-type"] == "application/json"
        assert "request id" in response.json()["message"]
        # the client knows to open a new connection, so its next request is answered
        assert client.get("/api/v2/version/").status_code == 200


#: text any store holds: no surrogate (hypothesis' default) and no NUL
texts = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_JSON_INTEGER, max_value=MAX_JSON_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)
bad_leaves = (
    st.integers(min_value=MAX_JSON_INTEGER + 1) | st.integers(max_value=-MAX_JSON_INTEGER - 1)
) | st.sampled_from([float("nan"), float("inf"), "\ud800", "x\udc00y", "\x00", "a\x00b"])


@hypothesis_settings(deadline=None)
@given(body=st.dictionaries(texts, json_values, max_size=4))
def test_json_that_any_parser_reads_passes(body: dict[str, Any]) -> None:
    check_json_values(body)
    json.dumps(body, ensure_ascii=False).encode("utf-8")


@hypothesis_settings(deadline=None)
@given(
    body=st.dictionaries(texts, json_values, max_size=4),
    path=st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4),
    bad=bad_leaves,
)
def test_a_bad_value_anywhere_is_refused_at_its_path(
    body: dict[str, Any], path: list[str], bad: object
) -> None:
    node = body
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[path[-1]] = bad
    with pytest.raises(InvalidInput) as raised:
        check_json_values(body)
    found: Any = raised.value.errors
    for key in path:
        found = found[key]
    assert isinstance(found, str)


@SQLITE
def test_a_body_that_is_not_utf8_is_422_naming_the_body(api_a: Api) -> None:
    response = api_a.post(
        "credentials/",
        content=b'{"name": "\xff\xfe"}',
        headers={"Content-Type": "application/json"},
    )
    body = assert_json_error(response, 422)
    assert set(body["errors"]) == {"body"}
    assert body["errors"]["body"].startswith("cannot be read")


@SQLITE
def test_a_405_names_every_method_of_the_path(api_a: Api) -> None:
    response = api_a.put("credentials/")
    assert_json_error(response, 405)
    assert response.headers["allow"] == "GET, POST"


def _nested_text(levels: int) -> str:
    """A JSON object ``levels`` deep: ``{"a":{"a":...{}}}``."""
    return '{"a":' * (levels - 1) + "{}" + "}" * (levels - 1)


DEEP = _nested_text(500)
TOO_DEEP = f"is nested too deeply (at most {MAX_JSON_DEPTH} levels of objects and lists)"


@SQLITE
@pytest.mark.parametrize(
    ("route", "key"),
    [
        ("batchPredictions/", "explanationsMode"),
        ("batchPredictions/", "secondaryDatasetsConfigId"),
        ("batchPredictionJobDefinitions/", "explanationsMode"),
        ("batchPredictionJobDefinitions/", "secondaryDatasetsConfigId"),
        ("credentials/", "name"),
    ],
)
def test_a_value_nested_500_deep_is_422_naming_its_field(
    api_a: Api, deployment_a: str, route: str, key: str
) -> None:
    head = '{"deploymentId": "' + deployment_a + '", "intakeSettings": {"type": "localFile"}, '
    response = _post_raw(api_a, route, head + f'"{key}": {DEEP}}}')
    assert assert_json_error(response, 422)["errors"] == {key: TOO_DEEP}


@SQLITE
def test_a_deep_patch_of_a_definition_is_422_and_changes_nothing(
    api_a: Api, deployment_a: str
) -> None:
    created = api_a.post(
        "batchPredictionJobDefinitions/",
        json={"deploymentId": deployment_a, "intakeSettings": {"type": "localFile"}},
    )
    assert created.status_code == 202, created.text
    route = f"batchPredictionJobDefinitions/{created.json()['id']}/"
    before = api_a.get(route).json()
    for key, body in (
        ("x", '{"x": ' + DEEP + "}"),
        ("explanationsMode", '{"explanationsMode": [' + DEEP + "]}"),
    ):
        response = api_a.patch(
            route, content=body.encode(), headers={"Content-Type": "application/json"}
        )
        assert assert_json_error(response, 422)["errors"] == {key: TOO_DEEP}
    assert api_a.get(route).json() == before


@SQLITE
def test_the_deepest_allowed_value_is_accepted(api_a: Api, deployment_a: str) -> None:
    spec = {
        "deploymentId": deployment_a,
        "intakeSettings": {"type": "localFile"},
        # the body is level 1, so its field may hold MAX_JSON_DEPTH - 1 levels
        "explanationsMode": json.loads(_nested_text(MAX_JSON_DEPTH - 1)),
    }
    response = api_a.post("batchPredictions/", json=spec)
    assert response.status_code == 202, response.text
    assert response.json()["jobSpec"]["explanationsMode"] == spec["explanationsMode"]


@pytest.mark.parametrize("levels", [MAX_JSON_DEPTH + 1, 500, 100_000])
def test_a_body_nested_deeper_than_the_limit_is_refused_without_recursing(levels: int) -> None:
    value: Any = []
    for _ in range(levels - 2):  # with the body: ``levels`` deep
        value = [value]
    with pytest.raises(InvalidInput) as raised:
        check_json_values({"field": value})
    assert raised.value.errors == {"field": TOO_DEEP}
    check_json_values({"field": json.loads(_nested_text(MAX_JSON_DEPTH - 1))})


@SQLITE
@pytest.mark.parametrize("spelling", ["{root}/in.csv", "{root}/./sub/../in.csv", "{root}//in.csv"])
def test_an_output_onto_the_intakes_file_is_422_and_the_file_is_kept(
    api_a: Api, deployment_a: str, settings: Settings, spelling: str
) -> None:
    root = settings.file_roots[0]
    source = root / "in.csv"
    source.write_text("a,b\n1,x\n")
    spec = {
        "deploymentId": deployment_a,
        "intakeSettings": {"type": "filesystem", "url": source.as_uri()},
        "outputSettings": {
            "type": "filesystem",
            "url": "file://" + spelling.format(root=root.as_posix()),
        },
    }
    for route in ("batchPredictions/", "batchPredictionJobDefinitions/"):
        errors = assert_json_error(api_a.post(route, json=spec), 422)["errors"]
        assert list(errors) == ["outputSettings"] and "url" in errors["outputSettings"]
    assert source.read_text() == "a,b\n1,x\n"


@SQLITE
@pytest.mark.parametrize(
    ("extra", "field"),
    [
        (
            {
                "columnNamesRemapping": {
                    "readmitted_no_PREDICTION": "x",
                    "readmitted_yes_PREDICTION": "x",
                }
            },
            "columnNamesRemapping",
        ),
        ({"columnNamesRemapping": {"readmitted_PREDICTION": "THRESHOLD"}}, "columnNamesRemapping"),
        (
            {
                "includePredictionStatus": True,
                "columnNamesRemapping": {"POSITIVE_CLASS": "prediction_status"},
            },
            "columnNamesRemapping",
        ),
        ({"passthroughColumns": ["THRESHOLD"]}, "passthroughColumns"),
    ],
)
def test_an_output_with_two_columns_of_one_name_is_422_at_submit(
    api_a: Api, deployment_a: str, extra: dict[str, Any], field: str
) -> None:
    spec = {"deploymentId": deployment_a, "intakeSettings": {"type": "localFile"}, **extra}
    for route in ("batchPredictions/", "batchPredictionJobDefinitions/"):
        errors = assert_json_error(api_a.post(route, json=spec), 422)["errors"]
        assert list(errors) == [field] and "name" in errors[field]
