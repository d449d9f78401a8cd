"""The checks of each key of a job spec: a wire value in, its typed value out (pure).

Each ``parse_*`` takes the value as sent (``None`` when absent or null) and returns the typed
value with the server default filled in, or raises ``FieldError`` whose ``problem`` is the text
(or, for an object, the mapping of its keys to texts) the API answers under that key.
``scorecast.domain.job_spec`` calls them; nothing else should.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Mapping
from typing import Any, Final, Literal

from scorecast.domain.csv_settings import CsvSettings
from scorecast.domain.spec_secrets import prediction_instance_problems, without_secrets

#: Largest ``numConcurrent`` accepted (each concurrent chunk may hold a thread or a process).
MAX_NUM_CONCURRENT: Final = 64
#: ``numConcurrent`` when a spec leaves it out: the one default, the same on every server (a
#: stored spec must not mean more or fewer processes depending on the host that parsed it)
DEFAULT_NUM_CONCURRENT: Final = 2
#: Largest fixed ``chunkSize`` accepted, in bytes.
MAX_CHUNK_SIZE: Final = 1 << 30
#: Largest ``maxExplanations`` (DataRobot's limit).
MAX_EXPLANATIONS: Final = 100
#: Chunk size strategies DataRobot accepts besides a number of bytes.
CHUNK_STRATEGIES: Final = ("auto", "fixed", "dynamic")
EXPLANATION_ALGORITHMS: Final = ("shap", "xemp")

ChunkStrategy = Literal["auto", "fixed", "dynamic"]
_STRATEGIES: Final[tuple[ChunkStrategy, ...]] = ("auto", "fixed", "dynamic")
ChunkSize = ChunkStrategy | int


class FieldError(Exception):
    def __init__(self, problem: str | dict[str, Any]) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _int_between(value: object, low: int, high: int | None) -> int | None:
    """``value`` when it is an integer (not a bool) in ``[low, high]``, else None."""
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value if low <= value and (high is None or value <= high) else None


def _string_list(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FieldError("must be a list of strings")
    if any(not item for item in value):
        raise FieldError("must not contain empty strings")
    return tuple(value)


def parse_bool(value: object, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise FieldError("must be true or false")
    return value


def parse_optional_bool(value: object) -> bool | None:
    return None if value is None else parse_bool(value, False)


def parse_number(
    value: object, low: float | None = None, high: float | None = None
) -> float | None:
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise FieldError("must be a number")
    number = float(value)
    if not math.isfinite(number):
        raise FieldError("must be a number")
    if (low is not None and number < low) or (high is not None and number > high):
        raise FieldError(f"{value} is out of range {low}-{high}")
    return number


def parse_deployment_id(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise FieldError("must be a non-empty string")
    return value


def parse_num_concurrent(value: object) -> int:
    if value is None:
        return DEFAULT_NUM_CONCURRENT
    number = _int_between(value, 1, MAX_NUM_CONCURRENT)
    if number is None:
        raise FieldError(f"must be an integer between 1 and {MAX_NUM_CONCURRENT}")
    return number


def parse_chunk_size(value: object) -> ChunkSize:
    if value is None:
        return "auto"
    if isinstance(value, str):
        for strategy in _STRATEGIES:
            if value == strategy:
                return strategy
        raise FieldError(f"must be one of {', '.join(CHUNK_STRATEGIES)} or a number of bytes")
    size = _int_between(value, 1, MAX_CHUNK_SIZE)
    if size is None:
        raise FieldError(f"must be an integer between 1 and {MAX_CHUNK_SIZE} bytes")
    return size


def parse_csv_settings(value: object) -> CsvSettings:
    if value is None:
        return CsvSettings()
    if not isinstance(value, Mapping):
        raise FieldError("must be an object")
    problems: dict[str, Any] = {}
    settings = {"delimiter": ",", "quotechar": '"', "encoding": "utf-8"}
    for key in value:
        if key not in settings:
            problems[str(key)] = "unknown field (expected delimiter, quotechar, encoding)"
    delimiter = value.get("delimiter")
    if delimiter is not None:
        if delimiter == "tab":
            settings["delimiter"] = "\t"
        elif (problem := _csv_character_problem(delimiter)) is None:
            settings["delimiter"] = delimiter
        else:
            problems["delimiter"] = f"{problem} or 'tab'"
    quotechar = value.get("quotechar")
    if quotechar is not None:
        if (problem := _csv_character_problem(quotechar)) is None:
            settings["quotechar"] = quotechar
        else:
            problems["quotechar"] = problem
    encoding = value.get("encoding")
    if encoding is not None:
        if not isinstance(encoding, str) or not _known_codec(encoding):
            problems["encoding"] = f"unknown encoding {encoding!r}"
        else:
            settings["encoding"] = encoding
    clash = settings["delimiter"] == settings["quotechar"]
    if clash and "delimiter" not in problems and "quotechar" not in problems:
        problems["quotechar"] = "must differ from the delimiter"
    if problems:
        raise FieldError(problems)
    return CsvSettings(**settings)


def _csv_character_problem(value: object) -> str | None:
    if not isinstance(value, str) or len(value) != 1 or value in "\r\n":
        return "must be one character"
    if not value.isascii():  # the CSV reader (pyarrow) splits on one byte: every chunk would fail
        return f"must be one ASCII character ({value!r} is not ASCII)"
    return None


def _known_codec(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def parse_passthrough_columns(value: object) -> tuple[str, ...]:
    return () if value is None else _string_list(value)


def parse_passthrough_columns_set(value: object) -> Literal["all"] | None:
    if value is None:
        return None
    if value != "all":
        raise FieldError("must be 'all'")
    return "all"


def parse_probability_classes(value: object) -> tuple[str, ...]:
    return () if value is None else _string_list(value)


def parse_max_explanations(value: object) -> int:
    if value is None:
        return 0
    count = _int_between(value, 0, MAX_EXPLANATIONS)
    if count is None:
        raise FieldError(f"must be an integer between 0 and {MAX_EXPLANATIONS}")
    return count


def parse_max_ngram_explanations(value: object) -> int | Literal["all"] | None:
    if value is None:
        return None
    if value == "all":
        return "all"
    count = _int_between(value, 0, None)
    if count is None:
        raise FieldError("must be an integer >= 0 or 'all'")
    return count


def parse_explanation_algorithm(value: object) -> Literal["shap", "xemp"] | None:
    if value is None:
        return None
    if value == "shap":
        return "shap"
    if value == "xemp":
        return "xemp"
    raise FieldError(f"must be one of {', '.join(EXPLANATION_ALGORITHMS)}")


def parse_explanation_num_top_classes(value: object) -> int | None:
    if value is None:
        return None
    count = _int_between(value, 1, 10)
    if count is None:
        raise FieldError("must be an integer between 1 and 10")
    return count


def parse_explanation_class_names(value: object) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = _string_list(value)
    if not 1 <= len(names) <= 10:
        raise FieldError("must list between 1 and 10 class names")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise FieldError(f"lists {repeated} more than once")
    return names


def parse_column_names_remapping(value: object) -> tuple[tuple[str, str | None], ...]:
    """``{"old": "new" | null}`` or ``[{"inputName", "outputName"}]``; pairs in the given order
    (a name given twice: the last one counts). Two columns given the same new name are refused:
    the output would have two columns of that name."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list):
        items = []
        for index, entry in enumerate(value):
            if not isinstance(entry, Mapping) or "inputName" not in entry:
                raise FieldError(f"item {index} must be an object with inputName and outputName")
            items.append((entry["inputName"], entry.get("outputName")))
    else:
        raise FieldError("must be an object mapping column names to new names or null")
    remapping: dict[str, str | None] = {}
    for old, new in items:
        if not isinstance(old, str) or not old:
            raise FieldError("column names must be non-empty strings")
        if new is not None and (not isinstance(new, str) or not new):
            raise FieldError(f"the new name of {old!r} must be a non-empty string or null")
        remapping[old] = new
    targets = [new for new in remapping.values() if new is not None]
    shared = next((new for new in targets if targets.count(new) > 1), None)
    if shared is not None:
        sources = [old for old, new in remapping.items() if new == shared]
        raise FieldError(f"maps {sources} to the same name {shared!r}; output names must be unique")
    return tuple(remapping.items())


def parse_prediction_instance(value: object) -> dict[str, Any] | None:
    """Kept without its secrets (``domain/spec_secrets.py``): scorecast calls no prediction
    server, so ``apiKey`` and ``datarobotKey`` are accepted and dropped, never stored."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise FieldError("must be an object")
    problems = prediction_instance_problems(value)
    if problems:
        raise FieldError(problems)
    kept: dict[str, Any] = without_secrets({"predictionInstance": value})["predictionInstance"]
    return kept
