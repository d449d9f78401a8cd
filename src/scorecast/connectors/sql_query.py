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


_WORD = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")


def _skip_quoted(sql: str, start: int) -> int:
    """Index after the string or quoted identifier opening at ``start`` (doubled quotes and
    MySQL's backslash escapes stay inside)."""
    quote = sql[start]
    j = start + 1
    while True:
        j = sql.find(quote, j)
        if j < 0:
            raise ValueError(f"has an unterminated {quote} quote")
        if j + 1 < len(sql) and sql[j + 1] == quote:
            j += 2
            continue
        backslashes = len(sql[start + 1 : j]) - len(sql[start + 1 : j].rstrip("\\"))
        if quote == "'" and backslashes % 2:
            j += 1
            continue
        return j + 1


def _tokens(sql: str) -> list[str]:
    """Upper-cased bare words, ``;`` and other punctuation outside strings and comments."""
    tokens: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if sql.startswith("--", i):  # not MySQL's "#": in PostgreSQL it is an operator
            end = sql.find("\n", i)
            i = n if end < 0 else end + 1
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            if end < 0:
                raise ValueError("has an unterminated /* comment")
            i = end + 2
        elif ch in "'\"`":
            i = _skip_quoted(sql, i)
            tokens.append("'")
        elif ch == "$" and (tag := _DOLLAR_TAG.match(sql, i)):
            end = sql.find(tag.group(0), tag.end())
            if end < 0:
                raise ValueError("has an unterminated dollar-quoted string")
            i = end + len(tag.group(0))
            tokens.append("'")
        elif ch.isspace():
            i += 1
        elif word := _WORD.match(sql, i):
            tokens.append(word.group(0).upper())
            i = word.end()
        else:
            tokens.append(ch)
            i += 1
    return tokens


def check_read_only_query(sql: str) -> None:
    """Raise ``ValueError`` (its text says why) unless ``sql`` is one SELECT/WITH query."""
    tokens = _tokens(sql)
    statements: list[list[str]] = [[]]
    for token in tokens:
        if token == ";":
            statements.append([])
        else:
            statements[-1].append(token)
    statements = [statement for statement in statements if statement]
    if not statements:
        raise ValueError("is empty")
    if len(statements) > 1 or tokens.count(";") > (tokens[-1] == ";"):
        raise ValueError("must be a single statement")
    words = [token for token in statements[0] if token not in ("(", ")")]
    if not words:
        raise ValueError("is empty")
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
