"""A ``ConnectorContext`` that can travel to another machine (a Dask worker) and back.

A job's context answers lookups through its worker's store (``JobLedger``), which another
machine cannot reach; ``ShippedContext.resolve`` asks those lookups once, in the job's process,
for the credentials the job's intake and output settings name, and carries their answers.

Secrets: the credentials' fields travel inside the pickled task data only. The object's
``repr`` (what Dask writes in its logs when a task fails, and shows on its dashboard) names no
field, and no task key or name is made from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scorecast.connectors.base import ConnectorContext, OutputToken
from scorecast.errors import ConnectorError

if TYPE_CHECKING:
    from scorecast.config import Settings


@dataclass(frozen=True, repr=False)
class ShippedContext:
    """What a connector opened on another machine needs; see the module docstring."""

    app_settings: Settings  # as a child process gets them (``Settings.for_child``)
    template: Mapping[str, str]
    ambient_identity: bool
    output_token: OutputToken | None
    credentials: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def resolve(cls, ctx: ConnectorContext, *settings: Mapping[str, Any]) -> ShippedContext:
        """``ctx`` with the credentials that ``settings`` (intake, output) name, looked up now."""
        credentials = {
            str(s["credentialId"]): dict(ctx.credential(str(s["credentialId"])))
            for s in settings
            if s.get("credentialId")
        }
        return cls(
            ctx.app_settings.for_child(),
            dict(ctx.template),
            ctx.ambient_identity,
            ctx.output_token,
            credentials,
        )

    def context(self) -> ConnectorContext:
        """A ``ConnectorContext`` answering from what was shipped (no store behind it)."""

        def credential(credential_id: str) -> Mapping[str, Any]:
            if credential_id not in self.credentials:
                raise ConnectorError(f"credential {credential_id!r} was not shipped with the task")
            return self.credentials[credential_id]

        def unavailable(*_: Any) -> Any:
            raise ConnectorError("this connector cannot be opened on a Dask worker")

        return ConnectorContext(
            credential=credential,
            data_store=unavailable,
            dataset_path=unavailable,
            app_settings=self.app_settings,
            template=self.template,
            ambient_identity=self.ambient_identity,
            output_token=self.output_token,
        )

    def __repr__(self) -> str:
        return f"ShippedContext(credentials=<{len(self.credentials)} hidden>)"
