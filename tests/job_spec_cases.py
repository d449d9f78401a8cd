"""Wire job specs for property tests: valid ones with their normal form, and invalid ones with
the exact field error the API answers for them.

``valid_specs()`` draws ``(wire, normal)``: a spec as a client may send it, and the form it is
stored and echoed in. Normalised (and nothing else): defaults filled in; ``csvSettings`` complete
with ``"tab"`` as ``"\\t"``; thresholds as floats; ``columnNamesRemapping`` in its list form as an
object; ``predictionInstance`` without ``apiKey``/``datarobotKey``; adapter keys sent as null
left out; ``timeseriesSettings: {}`` left out; ``outputSettings`` absent → ``localFile``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from scorecast.domain.job_spec import DEFAULT_NUM_CONCURRENT, MAX_CHUNK_SIZE

DEFAULTS: dict[str, Any] = {
    "numConcurrent": DEFAULT_NUM_CONCURRENT,
    "chunkSize": "auto",
    "outputSettings": {"type": "localFile"},
    "csvSettings": {"delimiter": ",", "quotechar": '"', "encoding": "utf-8"},
    "abortOnError": True,
    "includeProbabilities": True,
    "includeProbabilitiesClasses": [],
    "includePredictionStatus": False,
    "skipDriftTracking": False,
    "disableRowLevelErrorHandling": False,
    "predictionWarningEnabled": None,
    "passthroughColumns": [],
    "passthroughColumnsSet": None,
    "maxExplanations": 0,
    "thresholdHigh": None,
    "thresholdLow": None,
    "predictionThreshold": None,
    "columnNamesRemapping": {},
}

names = st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8)
_urls = names.map(lambda name: f"s3://bucket/{name}.csv")
_ids = st.text("0123456789abcdef", min_size=24, max_size=24)


def _with_nulls(required: dict[str, Any], optional: dict[str, Any]) -> Any:
    """Adapter settings: the required keys, some optional ones, some sent as null."""
    maybe = {key: st.one_of(st.none(), value) for key, value in optional.items()}
    return st.fixed_dictionaries(required, optional=maybe)


_FILE = {"credentialId": _ids, "format": st.sampled_from(["csv", "parquet"])}
_intakes = st.one_of(
    st.just({"type": "localFile"}),
    _with_nulls({"type": st.just("localFile")}, {"multipart": st.booleans()}),
    _with_nulls({"type": st.just("s3"), "url": _urls}, {**_FILE, "endpointUrl": names}),
    _with_nulls({"type": st.just("gcp"), "url": _urls}, _FILE),
    _with_nulls({"type": st.just("dataset"), "datasetId": _ids}, {"datasetVersionId": _ids}),
    _with_nulls(
        {"type": st.just("jdbc"), "dataStoreId": _ids, "query": names},
        {"credentialId": _ids, "fetchSize": st.integers(1, 1000)},
    ),
)
_outputs = st.one_of(
    _with_nulls({"type": st.just("localFile")}, {"path": names}),
    _with_nulls({"type": st.just("azure"), "url": _urls}, _FILE),
    _with_nulls(
        {
            "type": st.just("jdbc"),
            "dataStoreId": _ids,
            "table": names,
            "statementType": st.sampled_from(["insert", "insert_update", "createTable"]),
        },
        {"whereColumns": st.lists(names, min_size=1, max_size=3), "commitInterval": st.integers(0)},
    ),
)


def _without_nulls(settings: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in settings.items() if value is not None}


@st.composite
def valid_specs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(wire, normal)`` (see the module docstring)."""
    wire: dict[str, Any] = {"deploymentId": draw(_ids), "intakeSettings": draw(_intakes)}
    normal: dict[str, Any] = {
        **DEFAULTS,
        "deploymentId": wire["deploymentId"],
        "intakeSettings": _without_nulls(wire["intakeSettings"]),
    }

    def maybe(key: str, values: st.SearchStrategy[Any], normalise: Any = None) -> None:
        if draw(st.booleans()):
            value = draw(values)
            wire[key] = value
            normal[key] = normalise(value) if normalise else value

    maybe("outputSettings", _outputs, _without_nulls)
    maybe("numConcurrent", st.integers(1, 64))
    maybe(
        "chunkSize",
        st.one_of(st.sampled_from(["auto", "fixed", "dynamic"]), st.integers(1, MAX_CHUNK_SIZE)),
    )
    maybe("csvSettings", _csv, _csv_normal)
    for key in ("abortOnError", "includeProbabilities", "includePredictionStatus"):
        maybe(key, st.booleans())
    maybe("skipDriftTracking", st.booleans())
    maybe("disableRowLevelErrorHandling", st.booleans())
    maybe("predictionWarningEnabled", st.one_of(st.none(), st.booleans()))
    maybe("includeProbabilitiesClasses", st.lists(names, max_size=3))
    if draw(st.booleans()):
        maybe("passthroughColumns", st.lists(names, max_size=4))
    else:
        maybe("passthroughColumnsSet", st.just("all"))
    maybe("maxExplanations", st.integers(0, 100))
    if wire.get("maxExplanations"):
        if draw(st.booleans()):
            maybe("explanationNumTopClasses", st.integers(1, 10))
        else:
            maybe("explanationClassNames", st.lists(names, min_size=1, max_size=10, unique=True))
    maybe("maxNgramExplanations", st.one_of(st.just("all"), st.integers(0, 1000)))
    maybe("explanationAlgorithm", st.sampled_from(["shap", "xemp"]))
    low, high = sorted(draw(st.lists(_numbers, min_size=2, max_size=2)))
    if draw(st.booleans()):
        wire["thresholdLow"], normal["thresholdLow"] = low, float(low)
    if draw(st.booleans()):
        wire["thresholdHigh"], normal["thresholdHigh"] = high, float(high)
    maybe("predictionThreshold", st.one_of(st.floats(0, 1), st.integers(0, 1)), float)
    maybe("columnNamesRemapping", _remapping, _remapping_normal)
    maybe("predictionInstance", _instances, _without_secrets)
    maybe("modelPackageId", st.one_of(st.none(), names))
    maybe("explanationsMode", st.fixed_dictionaries({"mode": names}))
    maybe("batchJobType", st.just("prediction"))
    if draw(st.booleans()):
        wire["timeseriesSettings"] = {}
    return wire, normal


_numbers = st.one_of(st.integers(-1000, 1000), st.floats(-1e6, 1e6, allow_nan=False))
_csv = st.fixed_dictionaries(
    {},
    optional={
        "delimiter": st.sampled_from([",", ";", "|", "tab"]),
        "quotechar": st.sampled_from(['"', "'"]),
        "encoding": st.sampled_from(["utf-8", "latin-1", "utf-16"]),
    },
)


def _csv_normal(value: dict[str, Any]) -> dict[str, Any]:
    normal = {**DEFAULTS["csvSettings"], **value}
    normal["delimiter"] = "\t" if normal["delimiter"] == "tab" else normal["delimiter"]
    return normal


_remapping = st.one_of(
    st.dictionaries(names, st.one_of(st.none(), names), max_size=3),
    st.lists(
        st.fixed_dictionaries({"inputName": names, "outputName": st.one_of(st.none(), names)}),
        max_size=3,
    ),
).filter(lambda value: _unique_new_names(_remapping_normal(value)))


def _unique_new_names(remapping: dict[str, Any]) -> bool:
    """Two columns given one new name are refused (the output would hold it twice)."""
    new = [name for name in remapping.values() if name is not None]
    return len(set(new)) == len(new)


def _remapping_normal(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    return {entry["inputName"]: entry["outputName"] for entry in value}


_instances = st.fixed_dictionaries(
    {},
    optional={
        "hostName": names,
        "sslEnabled": st.booleans(),
        "apiKey": names,
        "datarobotKey": names,
    },
)


def _without_secrets(value: dict[str, Any]) -> dict[str, Any]:
    return {key: item for key, item in value.items() if key not in ("apiKey", "datarobotKey")}


#: (a change that makes a valid spec invalid, the ``errors`` the API answers for it)
INVALID_CHANGES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"numConcurrent": 0}, {"numConcurrent": "must be an integer between 1 and 64"}),
    ({"numConcurrent": "4"}, {"numConcurrent": "must be an integer between 1 and 64"}),
    (
        {"chunkSize": MAX_CHUNK_SIZE + 1},
        {"chunkSize": f"must be an integer between 1 and {MAX_CHUNK_SIZE} bytes"},
    ),
    ({"abortOnError": "yes"}, {"abortOnError": "must be true or false"}),
    ({"maxExplanations": 101}, {"maxExplanations": "must be an integer between 0 and 100"}),
    ({"passthroughColumns": [""]}, {"passthroughColumns": "must not contain empty strings"}),
    (
        {"columnNamesRemapping": {"a": ""}},
        {"columnNamesRemapping": "the new name of 'a' must be a non-empty string or null"},
    ),
    (
        {"columnNamesRemapping": {"a": "x", "b": "x"}},
        {
            "columnNamesRemapping": "maps ['a', 'b'] to the same name 'x'; "
            "output names must be unique"
        },
    ),
    ({"predictionThreshold": 1.5}, {"predictionThreshold": "1.5 is out of range 0.0-1.0"}),
    (
        {"csvSettings": {"delimiter": ";;"}},
        {"csvSettings": {"delimiter": "must be one character or 'tab'"}},
    ),
    ({"numConcurent": 3}, {"numConcurent": "unknown field"}),
    (
        {"intakeSettings": {"type": "s3", "url": 5}},
        {"intakeSettings": {"url": "must be a non-empty string"}},
    ),
    (
        {"outputSettings": {"type": "jdbc", "dataStoreId": "d", "table": "t"}},
        {"outputSettings": {"statementType": "is required"}},
    ),
    (
        {"intakeSettings": {"type": "gcp", "url": "gs://b/k", "bucket": "b"}},
        {
            "intakeSettings": {
                "bucket": "is not a setting of this type; allowed: credentialId, format, url"
            }
        },
    ),
]
