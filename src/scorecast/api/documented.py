"""What the OpenAPI document says every route answers: the shapes of a list page and of an
error, and the error statuses any route may send. Only the document uses these models; the
routes build their JSON themselves (``serializers``, ``pagination``)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorBody(BaseModel):
    """Every error answer (``api.errors``)."""

    message: str = Field(description="what went wrong, for people")
    errors: dict[str, Any] = Field(
        description="the offending fields (nested as in the request) and each one's problem"
    )


class Page(BaseModel):
    """DataRobot's list envelope (``api.pagination``)."""

    model_config = ConfigDict(extra="allow")

    count: int = Field(description="items on this page")
    totalCount: int = Field(description="items on all pages")  # noqa: N815 (wire name)
    next: str | None = Field(description="absolute URL of the next page, if any")
    previous: str | None = Field(description="absolute URL of the previous page, if any")
    data: list[dict[str, Any]]


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


#: The error statuses any ``/api/v2`` route may answer, with the error body.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("a request the framework cannot route (e.g. a status reserved for retries)"),
    401: _error("no token, or an unknown one"),
    403: _error("the token may not do this"),
    404: _error("no such object in the caller's organization, or no such route"),
    405: _error("the method is not allowed on this path (see the Allow header)"),
    409: _error("a name is taken, or the object's state does not allow this"),
    422: _error("a field of the request is invalid; ``errors`` names it"),
}

#: A list route's 200 answer.
PAGE_RESPONSE: dict[int | str, dict[str, Any]] = {200: {"model": Page, "description": "a page"}}
