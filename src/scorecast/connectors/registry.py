"""The table of connector types: type name → the ``Connector`` (``connectors.base``) and the
sides it offers.

A new store is one module implementing ``Connector`` plus one row in ``CONNECTORS``. Each row
imports its module on first use, so that optional extras, and pyarrow for the types that need
it to validate, load only when a job or a submit needs them; mypy checks every module against
the protocol through its row's loader. Types DataRobot has and this server does not implement
are refused at submit time with ``UnsupportedFeature`` (422), never later, and so is a type
unknown here or used on a side it does not offer, naming the types that side supports.

Names: ``config`` / ``intake`` / ``output`` are the job's ``intakeSettings`` /
``outputSettings`` object, ``app_settings`` the server's ``Settings``, ``csv`` the CSV dialect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from scorecast.config import Settings
from scorecast.connectors.base import Connector, ConnectorContext, Intake, Output
from scorecast.connectors.checks import Side
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.domain.location_templates import (
    SAMPLE_VALUES,
    TemplateError,
    known_placeholder_problems,
    render,
    render_known,
    template_problems,
)
from scorecast.errors import InvalidInput, UnsupportedFeature

__all__ = [
    "CONNECTORS",
    "TEMPLATED_KEYS",
    "UNSUPPORTED_TYPES",
    "ConnectorType",
    "apply_template",
    "connector_types",
    "open_intake",
    "open_output",
    "validate_intake_settings",
    "validate_output_settings",
]

#: DataRobot adapter types this server knows but does not implement.
UNSUPPORTED_TYPES = ("snowflake", "synapse", "bigquery", "datasphere", "dss")


@dataclass(frozen=True)
class ConnectorType:
    """One row of ``CONNECTORS``: how to load the type's module, which sides it offers, and
    the type of credential its ``credentialId`` names (None: it takes none; the connector
    refuses another type when it opens, and a submitted job's is checked before it is stored,
    ``service.job_checks``)."""

    load: Callable[[], Connector]
    intake: bool = True
    output: bool = True
    credential: str | None = None

    def offers(self, side: Side) -> bool:
        return self.intake if side == "intake" else self.output


def _filesystem() -> Connector:
    from scorecast.connectors import filesystem

    return filesystem


def _s3() -> Connector:
    from scorecast.connectors import s3

    return s3


def _azure() -> Connector:
    from scorecast.connectors import azure

    return azure


def _gcp() -> Connector:
    from scorecast.connectors import gcp

    return gcp


def _jdbc() -> Connector:
    from scorecast.connectors import jdbc

    return jdbc


def _dataset() -> Connector:
    from scorecast.connectors import dataset

    return dataset


def _local_file() -> Connector:
    from scorecast.connectors import localfile

    return localfile


#: every connector type this server implements, by its wire name (``intakeSettings.type``)
CONNECTORS: dict[str, ConnectorType] = {
    "filesystem": ConnectorType(_filesystem),
    "s3": ConnectorType(_s3, credential="s3"),
    "azure": ConnectorType(_azure, credential="azure"),
    "gcp": ConnectorType(_gcp, credential="gcp"),
    "jdbc": ConnectorType(_jdbc, credential="basic"),
    "dataset": ConnectorType(_dataset, output=False),
    "localFile": ConnectorType(_local_file),
}


def credential_type(connector: str) -> str | None:
    """The type of credential connector type ``connector`` takes (None: none, or unknown)."""
    row = CONNECTORS.get(connector)
    return row.credential if row is not None else None


def connector_types(side: Side | None = None) -> list[str]:
    """The type names this server implements (on ``side``, when given), sorted."""
    return sorted(name for name, row in CONNECTORS.items() if side is None or row.offers(side))


def _side_key(side: Side) -> str:
    return "intakeSettings" if side == "intake" else "outputSettings"


def _connector_for(config: Mapping[str, Any], side: Side) -> Connector:
    key = _side_key(side)
    if not isinstance(config, Mapping):
        raise InvalidInput(f"{key} must be an object", {key: "must be an object"})
    type_name = config.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise InvalidInput(f"{key}.type is required", {key: {"type": "is required"}})
    if type_name in UNSUPPORTED_TYPES:
        message = f"{side} type {type_name!r} is not supported by this server"
        raise UnsupportedFeature(message, {key: {"type": message}})
    row = CONNECTORS.get(type_name)
    if row is None or not row.offers(side):
        message = (
            f"{side} type {type_name!r} is not supported by this server; "
            f"supported: {', '.join(connector_types(side))}"
        )
        raise UnsupportedFeature(message, {key: {"type": message}})
    return row.load()


def _validate(
    config: Mapping[str, Any], side: Side, app_settings: Settings | None
) -> dict[str, Any]:
    """Templates checked, then the connector's checks on the locations filled with sample values
    (so that what a placeholder turns into is checked too); the settings returned as sent."""
    _connector_for(config, side)
    problems = {
        key: "; ".join(found)
        for key, check in _TEMPLATE_CHECKS.items()
        if isinstance(config.get(key), str) and (found := check(config[key]))
    }
    if problems:
        _raise_nested(InvalidInput(_problem_summary(problems), problems), side)
    checked, _ = _check(apply_template(config, SAMPLE_VALUES), side, app_settings)
    for key in _TEMPLATE_CHECKS:
        if key in config:
            checked[key] = config[key]
    return checked


def _check(
    config: Mapping[str, Any], side: Side, app_settings: Settings | None
) -> tuple[dict[str, Any], Connector]:
    """``config`` as its connector's ``validate`` keeps it, and the connector."""
    connector = _connector_for(config, side)
    try:
        return connector.validate(config, side, app_settings or Settings.from_env()), connector
    except InvalidInput as exc:
        _raise_nested(exc, side)


def _raise_nested(exc: InvalidInput, side: Side) -> NoReturn:
    """Raise ``exc`` with its errors under ``intakeSettings``/``outputSettings``."""
    key = _side_key(side)
    if set(exc.errors) != {key}:
        exc.errors = {key: exc.errors or exc.message}
        exc.message = f"{key}: {exc.message}"
        exc.args = (exc.message,)
    raise exc


def _problem_summary(problems: Mapping[str, str]) -> str:
    return "; ".join(f"{key}: {problem}" for key, problem in problems.items())


def validate_intake_settings(
    intake: Mapping[str, Any], *, app_settings: Settings | None = None
) -> dict[str, Any]:
    """Submit-time check of ``intakeSettings``; returns them as sent (a copy).

    Raises ``UnsupportedFeature`` for types this server does not implement and
    ``InvalidInput`` (errors under ``intakeSettings``) for missing keys, wrong types and
    unsafe URLs or paths. ``app_settings`` defaults to ``Settings.from_env()``.
    """
    return _validate(intake, "intake", app_settings)


def validate_output_settings(
    output: Mapping[str, Any], *, app_settings: Settings | None = None
) -> dict[str, Any]:
    """Submit-time check of ``outputSettings``; see ``validate_intake_settings``."""
    return _validate(output, "output", app_settings)


#: Settings keys whose text may hold ``{placeholder}``s filled from ``ConnectorContext.template``.
TEMPLATED_KEYS = ("url", "table", "schema")
#: Settings keys of SQL text, where only the known placeholders are filled (``render_known``).
SQL_TEMPLATED_KEYS = ("query",)
_TEMPLATE_CHECKS: dict[str, Callable[[str], list[str]]] = {
    **dict.fromkeys(TEMPLATED_KEYS, template_problems),
    **dict.fromkeys(SQL_TEMPLATED_KEYS, known_placeholder_problems),
}


def apply_template(config: Mapping[str, Any], template: Mapping[str, str]) -> dict[str, Any]:
    """``config`` with the placeholders of ``TEMPLATED_KEYS`` filled from ``template`` (see
    ``domain/location_templates``); ``InvalidInput`` naming the key if one cannot be filled
    (a definition stored before placeholders were checked at submit).

    The result is validated again by ``open_*``, so a value cannot smuggle a path or host past
    the checks.
    """
    filled = dict(config)
    problems: dict[str, str] = {}
    for key in (*TEMPLATED_KEYS, *SQL_TEMPLATED_KEYS):
        value = filled.get(key)
        if isinstance(value, str) and ("{" in value or "}" in value):
            fill = render_known if key in SQL_TEMPLATED_KEYS else render
            try:
                filled[key] = fill(value, template)
            except TemplateError as exc:
                problems[key] = str(exc)
    if problems:
        raise InvalidInput(_problem_summary(problems), problems)
    return filled


def _filled(config: Mapping[str, Any], ctx: ConnectorContext, side: Side) -> dict[str, Any]:
    try:
        return apply_template(config, ctx.template)
    except InvalidInput as exc:
        _raise_nested(exc, side)


def open_intake(
    intake: Mapping[str, Any], ctx: ConnectorContext, csv: CsvSettings | None = None
) -> Intake:
    """The intake for validated ``intake`` settings; credentials and stores resolve through
    ``ctx``.

    ``{placeholders}`` in ``url``/``table``/``schema`` are filled from ``ctx.template`` first.
    The settings are checked again against ``ctx.app_settings`` (a definition stored before an
    admin narrowed the roots must not slip through).
    """
    filled = _filled(intake, ctx, "intake")
    _, connector = _check(filled, "intake", ctx.app_settings)
    return connector.open_intake(filled, ctx, csv or CsvSettings())


def open_output(
    output: Mapping[str, Any],
    ctx: ConnectorContext,
    csv: CsvSettings | None = None,
    fmt: FileFormat | None = None,
) -> Output:
    """The output for validated ``output`` settings; ``fmt`` overrides their ``format``.

    Placeholders are filled and the settings checked again as in ``open_intake``.
    """
    filled = _filled(output, ctx, "output")
    _, connector = _check(filled, "output", ctx.app_settings)
    if fmt is not None:
        filled = {**filled, "format": fmt}
    return connector.open_output(filled, ctx, csv or CsvSettings())
