"""The table of adapter types: type name → intake factory, output factory, settings validator.

A new store is one module plus one ``register`` call. Types DataRobot has and this server does
not implement are refused at submit time with ``UnsupportedFeature`` (422), never later.

Factories:

- intake: ``(settings, ctx, csv_settings) -> Intake``
- output: ``(settings, ctx, csv_settings) -> Output``
- validator: ``(settings, side, app_settings) -> dict`` where ``side`` is ``"intake"`` or
  ``"output"``; pure (no network, no files) and raising ``InvalidInput`` whose ``errors`` map
  keys of the settings to problems. The registry nests them under ``intakeSettings`` /
  ``outputSettings``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from scorecast.config import Settings
from scorecast.connectors.base import ConnectorContext, Intake, Output
from scorecast.connectors.checks import Checks, Side
from scorecast.domain.csv_settings import CsvSettings, FileFormat
from scorecast.domain.location_templates import (
    SAMPLE_VALUES,
    TemplateError,
    render,
    template_problems,
)
from scorecast.errors import InvalidInput, UnsupportedFeature

__all__ = [
    "TEMPLATED_KEYS",
    "UNSUPPORTED_TYPES",
    "IntakeFactory",
    "OutputFactory",
    "Validator",
    "apply_template",
    "open_intake",
    "open_output",
    "register",
    "registered_types",
    "validate_intake_settings",
    "validate_output_settings",
]

IntakeFactory = Callable[[Mapping[str, Any], ConnectorContext, CsvSettings], Intake]
OutputFactory = Callable[[Mapping[str, Any], ConnectorContext, CsvSettings], Output]
Validator = Callable[[Mapping[str, Any], Side, Settings], dict[str, Any]]

#: DataRobot adapter types this server knows but does not implement.
UNSUPPORTED_TYPES = ("snowflake", "synapse", "bigquery", "datasphere", "dss")


@dataclass(frozen=True)
class _Adapter:
    intake: IntakeFactory | None
    output: OutputFactory | None
    validator: Validator


_table: dict[str, _Adapter] = {}

#: Built-in adapters, imported on first use so optional extras load only when needed.
_BUILTIN = {
    "filesystem": "scorecast.connectors.filesystem",
    "s3": "scorecast.connectors.s3",
    "azure": "scorecast.connectors.azure",
    "gcp": "scorecast.connectors.gcp",
    "jdbc": "scorecast.connectors.jdbc",
    "dataset": "scorecast.connectors.dataset",
}


def register(
    type_name: str,
    intake_cls: IntakeFactory | None,
    output_cls: OutputFactory | None,
    validator: Validator,
) -> None:
    """Add or replace an adapter type. ``None`` factories mark a side the type does not offer."""
    _table[type_name] = _Adapter(intake_cls, output_cls, validator)


def registered_types() -> list[str]:
    for name in _BUILTIN:
        _lookup(name)
    return sorted(_table)


def _validate_local_file(settings: Mapping[str, Any], side: Side, app: Settings) -> dict[str, Any]:
    checks = Checks(settings, ("multipart", "async") if side == "intake" else ("path",))
    checks.boolean("multipart")
    checks.boolean("async")
    return checks.done()


# localFile's intake and output (upload/download through the API) are registered by the service.
register("localFile", None, None, _validate_local_file)


def _lookup(type_name: str) -> _Adapter | None:
    if type_name not in _table and type_name in _BUILTIN:
        module = importlib.import_module(_BUILTIN[type_name])
        register(type_name, module.open_intake, module.open_output, module.validate)
    return _table.get(type_name)


def _side_key(side: Side) -> str:
    return "intakeSettings" if side == "intake" else "outputSettings"


def _offers(type_name: str, adapter: _Adapter, side: Side) -> bool:
    """Whether a type works on ``side``; localFile validates before the service registers it."""
    factory = adapter.intake if side == "intake" else adapter.output
    return factory is not None or type_name == "localFile"


def _adapter_for(settings: Mapping[str, Any], side: Side) -> tuple[str, _Adapter]:
    key = _side_key(side)
    if not isinstance(settings, Mapping):
        raise InvalidInput(f"{key} must be an object", {key: "must be an object"})
    type_name = settings.get("type")
    if not isinstance(type_name, str) or not type_name:
        raise InvalidInput(f"{key}.type is required", {key: {"type": "is required"}})
    if type_name in UNSUPPORTED_TYPES:
        message = f"{side} type {type_name!r} is not supported by this server"
        raise UnsupportedFeature(message, {key: {"type": message}})
    adapter = _lookup(type_name)
    if adapter is None or not _offers(type_name, adapter, side):
        known = [name for name in registered_types() if _offers(name, _table[name], side)]
        message = (
            f"{side} type {type_name!r} is not supported by this server; "
            f"supported: {', '.join(known)}"
        )
        raise UnsupportedFeature(message, {key: {"type": message}})
    assert adapter is not None
    return type_name, adapter


def _validate(settings: Mapping[str, Any], side: Side, app: Settings | None) -> dict[str, Any]:
    """Templates checked, then the adapter's checks on the locations filled with sample values
    (so that what a placeholder turns into is checked too); the settings returned as sent."""
    _adapter_for(settings, side)
    problems = {
        key: "; ".join(found)
        for key in TEMPLATED_KEYS
        if isinstance(settings.get(key), str) and (found := template_problems(settings[key]))
    }
    if problems:
        _raise_nested(InvalidInput(_problem_summary(problems), problems), side)
    checked = _check(apply_template(settings, SAMPLE_VALUES), side, app)
    for key in TEMPLATED_KEYS:
        if key in settings:
            checked[key] = settings[key]
    return checked


def _check(settings: Mapping[str, Any], side: Side, app: Settings | None) -> dict[str, Any]:
    _, adapter = _adapter_for(settings, side)
    try:
        return adapter.validator(settings, side, app or Settings.from_env())
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
    settings: Mapping[str, Any], *, app_settings: Settings | None = None
) -> dict[str, Any]:
    """Submit-time check of ``intakeSettings``; returns them as sent (a copy).

    Raises ``UnsupportedFeature`` for types this server does not implement and
    ``InvalidInput`` (errors under ``intakeSettings``) for missing keys, wrong types and
    unsafe URLs or paths. ``app_settings`` defaults to ``Settings.from_env()``.
    """
    return _validate(settings, "intake", app_settings)


def validate_output_settings(
    settings: Mapping[str, Any], *, app_settings: Settings | None = None
) -> dict[str, Any]:
    """Submit-time check of ``outputSettings``; see ``validate_intake_settings``."""
    return _validate(settings, "output", app_settings)


#: Settings whose text may hold ``{placeholder}``s filled from ``ConnectorContext.template``.
TEMPLATED_KEYS = ("url", "table", "schema")


def apply_template(settings: Mapping[str, Any], template: Mapping[str, str]) -> dict[str, Any]:
    """``settings`` with the placeholders of ``TEMPLATED_KEYS`` filled from ``template`` (see
    ``domain/location_templates``); ``InvalidInput`` naming the key if one cannot be filled
    (a definition stored before placeholders were checked at submit).

    The result is validated again by ``open_*``, so a value cannot smuggle a path or host past
    the checks.
    """
    filled = dict(settings)
    problems: dict[str, str] = {}
    for key in TEMPLATED_KEYS:
        value = filled.get(key)
        if isinstance(value, str) and ("{" in value or "}" in value):
            try:
                filled[key] = render(value, template)
            except TemplateError as exc:
                problems[key] = str(exc)
    if problems:
        raise InvalidInput(_problem_summary(problems), problems)
    return filled


def _filled(settings: Mapping[str, Any], ctx: ConnectorContext, side: Side) -> dict[str, Any]:
    try:
        return apply_template(settings, ctx.template)
    except InvalidInput as exc:
        _raise_nested(exc, side)


def open_intake(
    settings: Mapping[str, Any],
    ctx: ConnectorContext,
    csv_settings: CsvSettings | None = None,
) -> Intake:
    """The intake for validated ``settings``; credentials and stores resolve through ``ctx``.

    ``{placeholders}`` in ``url``/``table``/``schema`` are filled from ``ctx.template`` first.
    Settings are checked again against ``ctx.settings`` (a definition stored before an admin
    narrowed the roots must not slip through).
    """
    settings = _filled(settings, ctx, "intake")
    _check(settings, "intake", ctx.settings)
    _, adapter = _adapter_for(settings, "intake")
    if adapter.intake is None:
        raise UnsupportedFeature(f"intake type {settings['type']!r} has no reader registered")
    return adapter.intake(settings, ctx, csv_settings or CsvSettings())


def open_output(
    settings: Mapping[str, Any],
    ctx: ConnectorContext,
    csv_settings: CsvSettings | None = None,
    fmt: FileFormat | None = None,
) -> Output:
    """The output for validated ``settings``; ``fmt`` overrides ``settings['format']``.

    Placeholders are filled and settings re-checked as in ``open_intake``.
    """
    settings = _filled(settings, ctx, "output")
    _check(settings, "output", ctx.settings)
    _, adapter = _adapter_for(settings, "output")
    if adapter.output is None:
        raise UnsupportedFeature(f"output type {settings['type']!r} has no writer registered")
    if fmt is not None:
        settings = {**settings, "format": fmt}
    return adapter.output(settings, ctx, csv_settings or CsvSettings())
