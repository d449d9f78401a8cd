"""The part stores of the Dask executor (``connectors.part_stores.PartStore``), one suite over
every output type that has one: a folder, S3 (moto server), Azure (Azurite) and GCS
(gcp-storage-emulator), each on its contract-suite backend."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from backend_factory import make_backend
from backends import Backend

from scorecast.config import Settings
from scorecast.connectors.base import OutputToken
from scorecast.connectors.part_stores import PART_STORE_TYPES, PartStore, open_part_store
from scorecast.errors import ConnectorError

JOB = "f" * 24


@pytest.fixture(params=PART_STORE_TYPES)
def backend(request: pytest.FixtureRequest, app_settings: Settings) -> Backend:
    return make_backend(request.param, request, app_settings)


OpenStore = Callable[[str, int], PartStore]


@pytest.fixture
def open_store(backend: Backend) -> OpenStore:
    """``open_store(job, attempt)``: the part store of that attempt's output (one name)."""
    name = backend.new_name("csv")

    def open_store(job: str, attempt: int) -> PartStore:
        settings = backend.settings_for(name, "csv", "output")
        store = open_part_store(settings, backend.context(name, OutputToken(job, attempt)))
        assert store is not None
        return store

    return open_store


def test_a_part_is_put_replaced_read_and_removed(backend: Backend, open_store: OpenStore) -> None:
    store = open_store(JOB, 1)
    store.put(0, b"first")
    store.put(1, b"second")
    store.put(0, b"first, again")  # a retried task writes its part again

    assert store.get(0) == b"first, again" and store.get(1) == b"second"
    store.remove(0)
    store.remove(0)  # already gone: nothing happens
    with pytest.raises(ConnectorError, match="reading part 0") as missing:
        store.get(0)
    message = missing.value.message
    assert store.location in message
    assert not [v for c in backend.credentials.values() for v in c.values() if str(v) in message]
    assert store.get(1) == b"second"


def test_a_new_attempt_removes_the_parts_of_the_dead_ones_only(open_store: OpenStore) -> None:
    dead, current, other_job = open_store(JOB, 1), open_store(JOB, 2), open_store("a" * 24, 1)
    for index in range(3):
        dead.put(index, b"dead attempt")
    current.put(0, b"this attempt")
    other_job.put(0, b"another job")

    current.remove_others()

    for index in range(3):
        with pytest.raises(ConnectorError):
            dead.get(index)
    assert current.get(0) == b"this attempt"
    assert other_job.get(0) == b"another job"


def test_an_output_type_without_parts_has_no_store(backend: Backend) -> None:
    settings = {"type": "jdbc", "table": "scores"}
    assert open_part_store(settings, backend.context("x", OutputToken(JOB, 1))) is None
    name = backend.new_name("csv")
    no_token = backend.settings_for(name, "csv", "output")
    assert open_part_store(no_token, backend.context(name)) is None  # not a job's output


def test_a_new_attempt_removes_more_dead_parts_than_one_listing_page(
    request: pytest.FixtureRequest, app_settings: Settings
) -> None:
    """S3 answers a listing 1000 keys at a time: every page is read."""
    from concurrent.futures import ThreadPoolExecutor

    backend = make_backend("s3", request, app_settings)
    name = backend.new_name("csv")
    settings = backend.settings_for(name, "csv", "output")

    def open_attempt(attempt: int) -> PartStore:
        store = open_part_store(settings, backend.context(name, OutputToken(JOB, attempt)))
        assert store is not None
        return store

    dead, current = open_attempt(1), open_attempt(2)
    count = 1005
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda index: dead.put(index, b"dead attempt"), range(count)))
    current.remove_others()
    for index in (0, 999, 1000, count - 1):
        with pytest.raises(ConnectorError):
            dead.get(index)
