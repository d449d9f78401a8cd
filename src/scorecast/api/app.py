"""The FastAPI application: every router under ``/api/v2``, errors as DataRobot-style JSON.

``create_app(settings, engine)`` does no I/O besides creating the state folder and the local
storage's folders; migrations,
bootstrap, workers and the scheduler are started by ``scorecast serve``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from sqlalchemy import Engine

from scorecast import __version__
from scorecast.api.body_limits import BodyLimitMiddleware
from scorecast.api.docs import install_docs
from scorecast.api.documented import ERROR_RESPONSES
from scorecast.api.errors import AsciiJSONResponse, RequestIdMiddleware, install_error_handlers
from scorecast.api.routes import (
    backfills,
    batch_predictions,
    credentials,
    data_stores,
    datasets,
    definitions,
    deployment_settings,
    deployments,
    health,
    localfile,
    notification_channels,
    notification_policies,
    schedules,
    version,
)
from scorecast.api.url_guard import UrlGuardMiddleware
from scorecast.config import Settings
from scorecast.connectors.storage import open_storage
from scorecast.metrics import Metrics, MetricsMiddleware
from scorecast.store.db import make_sessionmaker
from scorecast.web import install_console

API_PREFIX = "/api/v2"


def create_app(settings: Settings, engine: Engine, *, metrics: Metrics | None = None) -> FastAPI:
    """The API app on ``engine`` (an already migrated store) with ``settings``; ``metrics``
    are the process's (a new registry when not given)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    open_storage(settings).prepare()
    app = FastAPI(
        title="scorecast",
        version=__version__,
        summary="Self-hosted batch predictions speaking DataRobot's Batch Prediction API",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by ``install_docs``, from this server's own files
        redoc_url=None,
        default_response_class=AsciiJSONResponse,
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.metrics = metrics or Metrics(engine)
    install_error_handlers(app)
    install_docs(app, title="scorecast")
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(BodyLimitMiddleware, limits=settings.limits)
    app.add_middleware(UrlGuardMiddleware)
    app.add_middleware(RequestIdMiddleware)
    for module in (
        version,
        credentials,
        data_stores,
        datasets,
        deployments,
        deployment_settings,
        batch_predictions,
        definitions,
        localfile,
        schedules,
        notification_channels,
        notification_policies,
        backfills,
    ):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    app.include_router(health.router)
    install_console(app)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The process's thread pool sized (``SCORECAST_API_THREADS``): handlers share one GIL, so
    threads beyond a few only take turns at it, and the one holding the store's write lock
    gets a smaller share the more there are."""
    settings: Settings = app.state.settings
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
    yield
