"""Is a user's SQL text one read-only query? A small lexer, no database needed.

``check_read_only_query`` accepts exactly one statement that starts with ``SELECT`` or
``WITH`` (after comments and opening parentheses), with an optional trailing ``;``. It refuses
a second statement, ``INTO`` (``SELECT … INTO`` creates tables or files) and row locks
(``FOR UPDATE``/``FOR SHARE``). Strings, quoted identifiers, dollar-quoted bodies and comments
are skipped, so a ``;`` inside a string is fine. The query still runs in a read-only
transaction where the database has one; this check only gives an early, clear 422.
"""

from __future__ import annotations

import itertools
import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")


def _words(sql: str) -> tuple[list[str], int]:  # noqa: PLR0915 - one lexer loop
    """Upper-cased bare words outside strings/comments, and the count of ``;`` separators seen
    before the last non-blank token."""
    words: list[str] = []
    semicolons = 0
    trailing_only = True
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i) or ch == "#":
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise ValueError("has an unterminated /* comment")
            i = end + 2
            continue
        if ch in "'\"`":
            j = i + 1
            while True:
                j = sql.find(ch, j)
                if j < 0:
                    raise ValueError(f"has an unterminated {ch} quote")
                if j + 1 < n and sql[j + 1] == ch:
                    j += 2
                    continue
                if ch == "'" and sql[j - 1] == "\\" and sql[j - 2 : j] != "\\\\":
                    j += 1
                    continue
                break
            i = j + 1
            trailing_only = trailing_only and semicolons == 0
            if semicolons:
                trailing_only = False
            continue
        if ch == "$":
            match = _DOLLAR_TAG.match(sql, i)
            if match:
                end = sql.find(match.group(0), match.end())
                if end < 0:
                    raise ValueError("has an unterminated dollar-quoted string")
                i = end + len(match.group(0))
                if semicolons:
                    trailing_only = False
                continue
        if ch == ";":
            semicolons += 1
            i += 1
            continue
        if ch.isspace():
            i += 1
            continue
        if semicolons:
            trailing_only = False
        match = re.compile(r"[A-Za-z_][A-Za-z_0-9]*").match(sql, i)
        if match:
            words.append(match.group(0).upper())
            i = match.end()
        else:
            if ch not in "()":
                words.append(ch)
            elif not words:
                pass  # leading parentheses: "(SELECT …)"
            i += 1
    return words, 0 if trailing_only and semicolons <= 1 else semicolons


def check_read_only_query(sql: str) -> None:
    """Raise ``ValueError`` (its text says why) unless ``sql`` is one SELECT/WITH query."""
    words, separators = _words(sql)
    if not words:
        raise ValueError("is empty")
    if separators:
        raise ValueError("must be a single statement")
    if words[0] not in ("SELECT", "WITH"):
        raise ValueError(f"must be a SELECT or WITH query, not {words[0]}")
    if "INTO" in words:
        raise ValueError("must not use INTO (only reading queries are allowed)")
    for first, second in itertools.pairwise(words):
        if first == "FOR" and second in ("UPDATE", "SHARE", "NO", "KEY"):
            raise ValueError("must not lock rows (FOR UPDATE/SHARE)")
        if first == "LOCK" and second == "IN":
            raise ValueError("must not lock rows")
    modifying = {
        "INSERT",
        "UPDATE",
        "DELETE",
        "MERGE",
        "DROP",
        "ALTER",
        "CREATE",
        "TRUNCATE",
        "GRANT",
        "REVOKE",
        "CALL",
        "COPY",
    }
    bad = modifying.intersection(words)
    if bad and words[0] == "WITH":
        raise ValueError(f"must not modify data ({', '.join(sorted(bad))})")
