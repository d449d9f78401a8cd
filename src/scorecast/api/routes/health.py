"""Health and metrics for operators, outside ``/api/v2``.

- ``GET /healthz``: the process is alive and answering (no token, no store access).
- ``GET /readyz``: 200 when the store answers, its schema is at this release's migration and
  the storage (``SCORECAST_STORAGE_URL``, by default the home's folders) answers and is
  writable; 503 otherwise. No token: it names which check failed and
  nothing else (no address, no error text), for a load balancer.
- ``GET /metrics``: Prometheus' text format (``scorecast.metrics``); it needs the token of an
  organization administrator unless the operator set ``SCORECAST_METRICS_PUBLIC=1``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine

from scorecast.api.auth import token_from_header
from scorecast.config import Settings
from scorecast.connectors.storage import open_storage
from scorecast.errors import PermissionDenied, ScorecastError
from scorecast.metrics import CONTENT_TYPE_LATEST, Metrics
from scorecast.service import accounts
from scorecast.store.migration_head import schema_is_current

router = APIRouter(include_in_schema=False)
log = logging.getLogger("scorecast.health")


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    settings: Settings = request.app.state.settings
    checks = {
        "store": "ok",
        "migrations": "ok",
        "storage": "ok" if _storage_writable(settings) else "failed",
    }
    try:
        if not schema_is_current(engine):
            checks["migrations"] = "failed"
    except Exception:  # an unreachable store must answer 503, never 500
        log.warning("readiness: the store does not answer", exc_info=True)
        checks["store"] = checks["migrations"] = "failed"
    ready = all(value == "ok" for value in checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not settings.metrics_public:
        token = token_from_header(request.headers.get("authorization"))
        caller = accounts.authenticate_reading(request.app.state.engine, token)
        if not caller.is_admin:
            raise PermissionDenied(
                "metrics cover every organization: they need an administrator's token "
                "(or SCORECAST_METRICS_PUBLIC=1 on the server)",
                {"authorization": "not an administrator"},
            )
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)


def _storage_writable(settings: Settings) -> bool:
    if not (settings.home.is_dir() and os.access(settings.home, os.W_OK | os.X_OK)):
        return False
    try:
        open_storage(settings).check()
    except ScorecastError as exc:
        log.warning("readiness: the storage does not answer: %s", exc.message)
        return False
    except Exception:  # a client library's own error: never a 500
        log.warning("readiness: the storage does not answer", exc_info=True)
        return False
    return True
