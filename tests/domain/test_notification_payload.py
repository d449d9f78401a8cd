"""The email a notification becomes: whatever a definition is named, its subject is one line
that an email header can carry."""

from __future__ import annotations

from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st

from scorecast.domain.notification_payload import email_subject, one_line

#: every line break str.splitlines knows, and text around them
BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
names = st.text(alphabet=st.one_of(st.sampled_from(BREAKS), st.characters()), min_size=1)


@settings(deadline=None)
@given(name=names)
def test_a_subject_is_one_line_an_email_can_carry(name: str) -> None:
    subject = email_subject({"event": "batch_predictions.failed", "definition": {"name": name}})
    assert len(subject.splitlines()) == 1
    assert not any(ch in subject for ch in BREAKS)
    message = EmailMessage()
    message["Subject"] = subject  # a ValueError for any line break
    assert subject.startswith("[scorecast] batch_predictions.failed")


def test_each_line_break_becomes_one_space() -> None:
    assert one_line("a\r\nb\nc\u2028d\x85e\x0bf\n") == "a b c d e f"
    assert email_subject({"event": "e", "definition": {"name": "x\r\ny"}}) == "[scorecast] e: x y"
