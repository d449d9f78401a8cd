"""Pure parts of the exactly-once marks: a job's mark is recognised by that job only, and a
staging file's name tells its job and attempt back, whatever the target's name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from scorecast.connectors.base import OutputToken
from scorecast.connectors.commit_marks import committed_by, mark_of
from scorecast.connectors.filesystem import STAGING_SUFFIX, staging_owner, staging_prefix

job_ids = st.text("abcdef0123456789", min_size=1, max_size=32)
attempts = st.integers(1, 10_000)
tokens = st.builds(OutputToken, job_ids, attempts)
file_names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"), min_size=1
).filter(lambda name: name not in (".", ".."))
randoms = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=1, max_size=12)


@given(written=tokens, asking=tokens, when=st.datetimes(timezones=st.just(UTC)))
def test_a_mark_is_recognised_by_its_own_job_only(
    written: OutputToken, asking: OutputToken, when: datetime
) -> None:
    found = committed_by(mark_of(written), asking, when)
    if written.job_id == asking.job_id:
        assert found == f"attempt {written.attempt} at {when:%Y-%m-%d %H:%M:%S} UTC"
    else:
        assert found is None
    assert committed_by(mark_of(written), None, when) is None
    assert committed_by({}, asking, when) is None


@given(token=tokens, target=file_names, random=randoms)
def test_a_staging_name_tells_its_job_and_attempt(
    token: OutputToken, target: str, random: str
) -> None:
    name = staging_prefix(Path("/data") / target, token, token.attempt) + random + STAGING_SUFFIX
    assert name.startswith(".")
    assert staging_owner(name) == token


@given(target=file_names)
def test_other_files_are_not_staging_files(target: str) -> None:
    if not target.endswith(STAGING_SUFFIX) or not target.startswith("."):
        assert staging_owner(target) is None
