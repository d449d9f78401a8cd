"""Traversal and SSRF: the corpus runs against every adapter type, plus properties of the
path containment check."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from context import make_context, settings_for
from hypothesis import given
from hypothesis import strategies as st

from scorecast.config import Settings
from scorecast.connectors.registry import (
    open_intake,
    open_output,
    validate_intake_settings,
    validate_output_settings,
)
from scorecast.connectors.safety import (
    UnresolvedHost,
    UnsafeLocationError,
    check_host,
    check_url,
    contained_path,
    file_url_path,
    pinned_address,
)
from scorecast.connectors.sql_engine import data_store_engine
from scorecast.errors import ConnectorError, InvalidInput

PRIVATE_HOSTS = [
    "169.254.169.254",
    "127.0.0.1",
    "[::1]",
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.1",
    "127.1",
    "0",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "[fe80::1]",
    "[fd00::1]",
    "localhost",
    "LOCALHOST.",
    "a.localhost",
    "metadata.google.internal",
    "100.64.0.1",
    "[::]",
]
PRIVATE_URLS = [f"http://{host}/" for host in PRIVATE_HOSTS] + [
    f"https://{host}:9000/x" for host in PRIVATE_HOSTS[:6]
]
TRAVERSALS = [
    "../etc/passwd",
    "%2e%2e/etc/passwd",
    "..%2fetc/passwd",
    "%2E%2E%2F",
    "..\\..\\etc",
    "a/../../etc/passwd",
    "%252e%252e/etc",
    "a/%2e%2e/b",
    "x%00.csv",
]
ABSOLUTE_OUTSIDE = ["file:///etc/passwd", "file:///root/.ssh/id_rsa", "file:///tmp/outside.csv"]


def _settings(tmp_path: Path, *, allow_private: bool = False) -> Settings:
    root = tmp_path / "root"
    root.mkdir(exist_ok=True)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return settings_for(home, root, allow_private=allow_private)


def _corpus(root: Path) -> list[tuple[str, dict[str, Any]]]:
    """(description, settings) pairs every validator must refuse, for every type."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for bad in TRAVERSALS:
        cases += [
            (f"filesystem {bad}", {"type": "filesystem", "url": f"{root.as_uri()}/{bad}"}),
            (f"s3 {bad}", {"type": "s3", "url": f"s3://bucket/{bad}"}),
            (f"azure {bad}", {"type": "azure", "url": f"https://a.blob.core.windows.net/c/{bad}"}),
            (f"gcp {bad}", {"type": "gcp", "url": f"gs://bucket/{bad}"}),
        ]
    for bad in ABSOLUTE_OUTSIDE:
        cases.append((f"filesystem {bad}", {"type": "filesystem", "url": bad}))
    for url in PRIVATE_URLS:
        cases += [
            (f"s3 endpoint {url}", {"type": "s3", "url": "s3://b/k.csv", "endpointUrl": url}),
            (f"azure {url}", {"type": "azure", "url": f"{url.rstrip('/')}/acct/c/blob.csv"}),
        ]
    for scheme_url in ("file:///etc/passwd", "http://example.com/x", "ftp://h/x", "/etc/x"):
        cases += [
            (f"s3 {scheme_url}", {"type": "s3", "url": scheme_url}),
            (f"gcp {scheme_url}", {"type": "gcp", "url": scheme_url}),
        ]
    cases += [
        ("filesystem s3 url", {"type": "filesystem", "url": "s3://bucket/key"}),
        ("filesystem with host", {"type": "filesystem", "url": f"file://evil.com{root}/x.csv"}),
        ("azure file url", {"type": "azure", "url": "file:///etc/passwd"}),
        ("gcp other https host", {"type": "gcp", "url": "https://169.254.169.254/b/o"}),
        (
            "s3 creds in endpoint",
            {"type": "s3", "url": "s3://b/k", "endpointUrl": "http://u:p@example.com"},
        ),
        ("jdbc query writes", {"type": "jdbc", "dataStoreId": "d", "query": "DELETE FROM t"}),
        (
            "jdbc two statements",
            {"type": "jdbc", "dataStoreId": "d", "query": "SELECT 1; DROP TABLE t"},
        ),
    ]
    return cases


def test_the_corpus_is_refused_at_submit_for_every_type(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    root = settings.file_roots[0]
    refused = []
    for description, adapter in _corpus(root):
        for validate in (validate_intake_settings, validate_output_settings):
            if adapter["type"] == "jdbc" and validate is validate_output_settings:
                continue
            with pytest.raises(InvalidInput) as caught:
                validate(adapter, app_settings=settings)
            side = "intakeSettings" if validate is validate_intake_settings else "outputSettings"
            assert side in caught.value.errors, description
            refused.append(description)
    assert len(refused) > 200


def test_the_corpus_is_refused_when_opening_too(tmp_path: Path) -> None:
    """A definition stored before the rules tightened cannot slip through at run time."""
    settings = _settings(tmp_path)
    ctx = make_context(settings)
    for description, adapter in _corpus(settings.file_roots[0]):
        with pytest.raises(InvalidInput):
            open_intake(adapter, ctx)
            pytest.fail(description)


DATA_STORE_CORPUS = [
    "jdbc:postgresql://127.0.0.1:5432/db",
    "jdbc:postgresql://169.254.169.254/db",
    "jdbc:mysql://[::1]:3306/db",
    "jdbc:mariadb://10.0.0.1/db",
    "jdbc:postgresql://2130706433/db",
    "jdbc:postgresql://localhost/db",
    "postgresql://0x7f000001/db",
    "jdbc:sqlite:/tmp/x.db",
    "jdbc:oracle:thin:@host:1521:db",
    "jdbc:postgresql://user:secret@example.com/db",
    "jdbc:postgresql://example.com/db?password=secret",
    "mysql://root:secret@example.com/db",
]


@pytest.mark.parametrize("address", DATA_STORE_CORPUS)
def test_data_stores_pointing_inside_are_refused(tmp_path: Path, address: str) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://", allow_local_databases=False)
    ctx = make_context(
        settings, {"c": {"user": "u", "password": "hunter2"}}, {"d": {"jdbcUrl": address}}
    )
    adapter = {"type": "jdbc", "dataStoreId": "d", "credentialId": "c", "table": "t"}
    with pytest.raises(ConnectorError) as caught:
        open_intake(adapter, ctx)
    assert "hunter2" not in caught.value.message and "secret" not in caught.value.message
    assert "data store 'd'" in caught.value.message


def test_private_endpoints_pass_only_when_allowed(tmp_path: Path) -> None:
    adapter = {"type": "s3", "url": "s3://b/k.csv", "endpointUrl": "http://127.0.0.1:9000"}
    with pytest.raises(InvalidInput, match="SCORECAST_ALLOW_PRIVATE_ENDPOINTS"):
        validate_intake_settings(adapter, app_settings=_settings(tmp_path))
    allowed = _settings(tmp_path, allow_private=True)
    assert validate_intake_settings(adapter, app_settings=allowed) == adapter


def test_public_hosts_and_urls_pass() -> None:
    for host in ("example.com", "8.8.8.8", "[2001:4860:4860::8888]", "s3.amazonaws.com"):
        check_host(host.strip("[]"), allow_private=False)
    check_url("https://acct.blob.core.windows.net/c/b.csv", ["https"], allow_private=False)
    check_url("s3://bucket/a b/c.csv", ["s3"], allow_private=False)


def test_symlink_escape_is_refused(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    root = settings.file_roots[0]
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.csv").write_text("a\n1\n")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "file.csv").symlink_to(outside / "secret.csv")
    for url in (f"{root.as_uri()}/link/secret.csv", f"{root.as_uri()}/file.csv"):
        with pytest.raises(InvalidInput, match="outside the folders"):
            validate_intake_settings({"type": "filesystem", "url": url}, app_settings=settings)
        with pytest.raises(InvalidInput):
            open_output({"type": "filesystem", "url": url}, make_context(settings))
    inside = root / "in.csv"
    inside.write_text("a\n1\n")
    (root / "alias.csv").symlink_to(inside)
    ok = {"type": "filesystem", "url": f"{root.as_uri()}/alias.csv"}
    assert validate_intake_settings(ok, app_settings=settings) == ok


def test_a_server_without_file_roots_refuses_every_file(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, database_url="sqlite://")
    with pytest.raises(InvalidInput, match="SCORECAST_FILE_ROOTS"):
        validate_intake_settings(
            {"type": "filesystem", "url": f"{tmp_path.as_uri()}/x.csv"}, app_settings=settings
        )


segment = st.sampled_from(["a", "b", "..", ".", "", "%2e%2e", "..%2f", "c.csv", "link"])


@given(parts=st.lists(segment, min_size=1, max_size=8))
def test_contained_path_never_leaves_the_root(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    base = tmp_path_factory.getbasetemp() / "prop"
    root = base / "root"
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "link").exists():
        (root / "link").symlink_to(base, target_is_directory=True)
    candidate = str(root) + "/" + "/".join(parts)
    try:
        result = contained_path(candidate, [root])
    except UnsafeLocationError:
        return
    real_root = os.path.realpath(root)
    assert os.path.commonpath([real_root, str(result)]) == real_root
    assert str(result) != real_root


def test_file_urls_map_to_paths(tmp_path: Path) -> None:
    root = tmp_path.resolve()
    assert file_url_path(f"file://{root}/a%20b.csv", [root]) == root / "a b.csv"
    assert file_url_path(f"file://localhost{root}/x.csv", [root]) == root / "x.csv"
    with pytest.raises(UnsafeLocationError):
        file_url_path(f"file://{root}", [root])


def test_a_name_that_does_not_resolve_is_never_connected_to_by_name() -> None:
    """A client that pins the checked address gets it, or ``UnresolvedHost``: connecting by
    name would resolve it again, and that answer (a DNS rebinding) could be private."""
    with pytest.raises(UnresolvedHost, match="does not resolve"):
        pinned_address("nothing.invalid", 443, allow_private=False)
    assert pinned_address("nothing.invalid", 443, allow_private=True) is None
    assert pinned_address("8.8.8.8", 443, allow_private=False) == "8.8.8.8"
    with pytest.raises(UnsafeLocationError):
        pinned_address("127.0.0.1", 443, allow_private=False)


def test_a_data_store_whose_host_does_not_resolve_gets_no_engine(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, tmp_path, allow_private=False)
    with pytest.raises(UnresolvedHost):
        data_store_engine({"jdbcUrl": "jdbc:postgresql://nothing.invalid:5432/db"}, None, settings)
