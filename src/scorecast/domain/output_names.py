"""The names of a job's output columns, and the check that no name is there twice: no numpy or
pyarrow, so the service checks a job spec at submit without loading them
(``domain/output_columns.py`` builds the columns; ``domain/explanation_columns.py`` the
explanations').

Output column names are unique: an input column passed through under the name of a column the
scoring writes (``THRESHOLD``, ``prediction_status``, ...), or a remapping that gives two
columns one name, fails the job before anything is written (``output_columns.
check_output_names``), or is refused at submit when it can be known then
(``scoring_options``), instead of one column silently replacing the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scorecast.domain.model_description import ModelDescription
    from scorecast.domain.scoring_options import ScoringOptions

PREDICTION_STATUS = "prediction_status"
STATUS_OK = "OK"
THRESHOLD = "THRESHOLD"
POSITIVE_CLASS = "POSITIVE_CLASS"
IS_OUTLIER_PREDICTION = "IS_OUTLIER_PREDICTION"

#: Name of the string column the CSV decoder adds when some rows of a chunk could not be parsed:
#: null for a good row, the problem for a bad one; never an output column.
ROW_ERROR_COLUMN = "__scorecast_row_error__"


#: the columns of one explanation: ``EXPLANATION_<i>_<part>``
EXPLANATION_PARTS = ("FEATURE_NAME", "STRENGTH", "ACTUAL_VALUE", "QUALITATIVE_STRENGTH")


def explanation_column(index: int, part: str) -> str:
    """``EXPLANATION_<index>_<part>``; ``index`` counts from 1."""
    return f"EXPLANATION_{index}_{part}"


def class_column(rank: int) -> str:
    """``CLASS_<rank>``: the label of the ``rank``-th explained class (from 1)."""
    return f"CLASS_{rank}"


def class_explanation_column(rank: int, index: int, part: str) -> str:
    """``CLASS_<rank>_EXPLANATION_<index>_<part>``; both count from 1."""
    return f"{class_column(rank)}_{explanation_column(index, part)}"


def explained_class_count(description: ModelDescription, options: ScoringOptions) -> int:
    """K, the number of ``CLASS_<k>`` blocks; 0 for the one-class-per-row layout."""
    if description.target_type != "multiclass" or options.max_explanations <= 0:
        return 0
    if options.explanation_num_top_classes is not None:
        return min(options.explanation_num_top_classes, len(description.class_labels))
    return len(options.explanation_class_names)


def explanation_names(description: ModelDescription, options: ScoringOptions) -> list[str]:
    """The names of the columns ``explanation_columns`` returns, in the same order."""
    if options.max_explanations <= 0:
        return []
    slots = range(1, min(options.max_explanations, len(description.feature_names)) + 1)
    count = explained_class_count(description, options)
    if count == 0:
        return [explanation_column(i, part) for i in slots for part in EXPLANATION_PARTS]
    names: list[str] = []
    for rank in range(1, count + 1):
        names.append(class_column(rank))
        names.extend(
            class_explanation_column(rank, i, part) for i in slots for part in EXPLANATION_PARTS
        )
    return names


def probability_column(target: str, label: str) -> str:
    return f"{target}_{label}_PREDICTION"


def prediction_column(target: str) -> str:
    return f"{target}_PREDICTION"


def probability_labels(description: ModelDescription, options: ScoringOptions) -> list[str]:
    """The classes whose probability columns are written."""
    if description.target_type == "regression" or not options.include_probabilities:
        return []
    wanted = options.include_probabilities_classes
    return [c for c in description.class_labels if not wanted or c in wanted]


def passthrough_names(options: ScoringOptions, input_columns: list[str]) -> list[str]:
    """The input columns copied to the output, in output order (a column listed twice once)."""
    if options.passthrough_all:
        return [c for c in input_columns if c != ROW_ERROR_COLUMN]
    return list(dict.fromkeys(options.passthrough_columns))


def remapped(names: list[str], remapping: dict[str, str | None]) -> list[tuple[str, str]]:
    """(column, output name) pairs after ``columnNamesRemapping``; null drops the column."""
    pairs: list[tuple[str, str]] = []
    for name in names:
        new = remapping.get(name, name)
        if new is not None:
            pairs.append((name, new))
    return pairs


def model_column_names(description: ModelDescription, options: ScoringOptions) -> list[str]:
    """The names of the columns the scoring writes (all but passthrough), in output order,
    before ``columnNamesRemapping``."""
    target = description.target
    names = [
        probability_column(target, label) for label in probability_labels(description, options)
    ]
    names.append(prediction_column(target))
    if description.target_type == "binary":
        names += [THRESHOLD, POSITIVE_CLASS]
    warned = options.prediction_warning_enabled and description.prediction_range is not None
    if description.target_type == "regression" and warned:
        names.append(IS_OUTLIER_PREDICTION)
    names += explanation_names(description, options)
    if options.include_prediction_status:
        names.append(PREDICTION_STATUS)
    return names


def duplicate_name_problem(
    passthrough: list[str], written: list[str], remapping: Mapping[str, str | None]
) -> tuple[str, str] | None:
    """(job spec key to blame, message) when the output would have two columns of one name:
    ``passthrough`` input columns and ``written`` scoring columns, renamed by ``remapping``."""
    sources: dict[str, list[str]] = {}
    for column, name in remapped(passthrough + written, dict(remapping)):
        sources.setdefault(name, []).append(column)
    for name, columns in sources.items():
        if len(columns) < 2:
            continue
        if len(set(columns)) == len(columns):
            return "columnNamesRemapping", (
                f"columnNamesRemapping gives the output columns {columns} the same name "
                f"{name!r}; map them to different names (or one of them to null to drop it)"
            )
        clash = next(column for column in columns if columns.count(column) > 1)
        if clash in written:
            return "passthroughColumns", (
                f"the input column {clash!r} has the name of a column the scoring writes, so "
                "the output would hold two columns of that name; leave it out of the passthrough "
                "columns (list passthroughColumns without it instead of passthroughColumnsSet "
                "'all') or rename it in the input"
            )
        return "passthroughColumns", (
            f"the input has more than one column named {clash!r}; rename them in the input or "
            "list passthroughColumns without it"
        )
    return None


def output_name_problem(
    description: ModelDescription, options: ScoringOptions, input_columns: list[str] | None
) -> tuple[str, str] | None:
    """``duplicate_name_problem`` of a job's output; ``input_columns`` None: not known yet
    (then the columns of ``passthroughColumnsSet: "all"`` are left out)."""
    unknown = options.passthrough_all and input_columns is None
    problem = duplicate_name_problem(
        [] if unknown else passthrough_names(options, input_columns or []),
        model_column_names(description, options),
        options.column_names_remapping,
    )
    if problem is not None and problem[0] == "passthroughColumns" and options.passthrough_all:
        return "passthroughColumnsSet", problem[1]
    return problem
