"""The FastAPI application: every router under ``/api/v2``, errors as DataRobot-style JSON.

``create_app(settings, engine)`` does no I/O besides creating the state folders; migrations,
bootstrap, workers and the scheduler are started by ``scorecast serve``.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from scorecast import __version__
from scorecast.api.body_limits import BodyLimitMiddleware
from scorecast.api.documented import ERROR_RESPONSES
from scorecast.api.errors import AsciiJSONResponse, RequestIdMiddleware, install_error_handlers
from scorecast.api.routes import (
    batch_predictions,
    credentials,
    data_stores,
    datasets,
    definitions,
    deployments,
    localfile,
    version,
)
from scorecast.config import Settings
from scorecast.store.db import make_sessionmaker

API_PREFIX = "/api/v2"


def create_app(settings: Settings, engine: Engine) -> FastAPI:
    """The API app on ``engine`` (an already migrated store) with ``settings``."""
    for folder in (
        settings.home,
        settings.uploads_dir,
        settings.results_dir,
        settings.artifacts_dir,
        settings.datasets_dir,
    ):
        folder.mkdir(parents=True, exist_ok=True)
    app = FastAPI(
        title="scorecast",
        version=__version__,
        summary="Self-hosted batch predictions speaking DataRobot's Batch Prediction API",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        default_response_class=AsciiJSONResponse,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, limits=settings.limits)
    app.add_middleware(RequestIdMiddleware)
    for module in (
        version,
        credentials,
        data_stores,
        datasets,
        deployments,
        batch_predictions,
        definitions,
        localfile,
    ):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)
    return app
