"""``GET version/``: the datarobot client reads ``versionString`` and wants 2.x with x >= 49.

The route needs a token like every other: ``dr.Client(...)`` makes this one request when it is
built and reads a 401 as "unable to authenticate", so a wrong token fails there and then, not
at the user's first real call.
"""

from __future__ import annotations

from fastapi import APIRouter

from scorecast import __version__
from scorecast.api.auth import CallerDep
from scorecast.api.transactions import TransactionRoute

router = APIRouter(tags=["Version"], route_class=TransactionRoute)

API_MAJOR = 2
API_MINOR = 49


@router.get("/version/", name="version")
def version(caller: CallerDep) -> dict[str, object]:
    """The DataRobot API version this server speaks, and scorecast's own version."""
    del caller  # authenticated, nothing else
    return {
        "major": API_MAJOR,
        "minor": API_MINOR,
        "versionString": f"{API_MAJOR}.{API_MINOR}.0",
        "scorecastVersion": __version__,
    }
