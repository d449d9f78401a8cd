"""``GET version/``: the one route without authentication; the datarobot client reads
``versionString`` and wants 2.x with x >= 49."""

from __future__ import annotations

from fastapi import APIRouter

from scorecast import __version__

router = APIRouter(tags=["Version"])

API_MAJOR = 2
API_MINOR = 49


@router.get("/version/", name="version")
def version() -> dict[str, object]:
    """The DataRobot API version this server speaks, and scorecast's own version."""
    return {
        "major": API_MAJOR,
        "minor": API_MINOR,
        "versionString": f"{API_MAJOR}.{API_MINOR}.0",
        "scorecastVersion": __version__,
    }
