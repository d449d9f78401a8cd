"""Multipart forms that say what they hold: a field given twice, or (where a route lists its
fields) one the route does not know, is a 422 naming it, never a value silently dropped (a
second ``file`` part replaced the first; a misspelled ``positive_class`` left the positive
class as guessed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from typing import Any

from fastapi import Depends, Request

from scorecast.errors import InvalidInput


def form_fields(known: Collection[str] | None = None) -> Any:
    """A route dependency (``dependencies=[form_fields(...)]``) checking the request's form:
    each field once, and, with ``known``, only those fields. The form is the one the route's
    own parameters read (Starlette parses it once)."""

    async def check(request: Request) -> None:
        names = [name for name, _ in (await request.form()).multi_items()]
        problems = {name: "is given more than once" for name, n in Counter(names).items() if n > 1}
        if known is not None:
            problems |= {
                name: f"is not a field of this form (fields: {', '.join(sorted(known))})"
                for name in names
                if name not in known
            }
        if problems:
            first = sorted(problems)[0]
            raise InvalidInput(f"{first}: {problems[first]}", problems)

    return Depends(check)
