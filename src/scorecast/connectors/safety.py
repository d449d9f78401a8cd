"""The one place where user-given paths and URLs are judged before any connector touches them.

- Paths (``file://`` URLs, dataset files): no ``..`` segment, no percent-encoded traversal or
  separator, no NUL; after ``realpath`` (which follows symlinks) the path must lie under one of
  the allowed roots, checked with ``os.path.commonpath`` as starlette's ``lookup_path`` does.
- Schemes: each adapter names the schemes it owns; anything else is refused.
- Object URLs (``check_object_url``: the ``url`` of s3, gcp, azure): one object and nothing
  else: no query or fragment (a SAS token or signature belongs in a credential), no path
  starting with ``//``, no port in an ``s3://``/``gs://`` bucket.
- Hosts (``endpointUrl``, storage URLs, data stores): a host that is, or resolves to, a
  loopback, private, link-local, reserved or unspecified address is refused unless the admin set
  ``SCORECAST_ALLOW_PRIVATE_ENDPOINTS``. IPv4 literals are parsed as the C resolver does, so
  ``2130706433``, ``0x7f000001`` and ``0177.0.0.1`` are all 127.0.0.1. An IPv6 address that
  carries an IPv4 address (IPv4-mapped ``::ffff:0:0/96``, NAT64 ``64:ff9b::/96``, 6to4
  ``2002::/16``, IPv4-compatible ``::/96``) is judged by that IPv4 address, since a gateway
  delivers it there; local-use NAT64 (``64:ff9b:1::/48``) is never public.

``check_host`` is pure (literals and well-known local names); ``resolve_host`` adds DNS and is
called when a connector connects.

- Token endpoints: google-auth POSTs a signed assertion to a service-account key's
  ``token_uri`` and would report the answer; ``check_google_token_uri`` accepts only Google's
  own endpoints (``GOOGLE_TOKEN_URIS``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

__all__ = [
    "GOOGLE_TOKEN_URIS",
    "UnresolvedHost",
    "UnsafeLocationError",
    "check_google_token_uri",
    "check_host",
    "check_object_url",
    "check_url",
    "contained_path",
    "file_url_path",
    "pinned_address",
    "resolve_host",
]

_ENCODED_TRAVERSAL = re.compile(r"%(2e|2f|5c|25|00)", re.IGNORECASE)
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_METADATA_NAMES = {"metadata", "metadata.google.internal", "instance-data"}
#: One DNS name (ASCII; IDNs in their xn-- form). Anything else (a comma-separated host list,
#: MySQL's ``address=(host=…)``) could make a client connect to a host never checked.
_HOST_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


#: The token endpoints Google writes into service-account keys (current and legacy).
GOOGLE_TOKEN_URIS = frozenset(
    {
        "https://oauth2.googleapis.com/token",
        "https://accounts.google.com/o/oauth2/token",
        "https://www.googleapis.com/oauth2/v4/token",
    }
)


class UnsafeLocationError(ValueError):
    """A path or URL outside what an adapter may touch; ``str()`` is the user-facing reason."""


def _reject_traversal(text: str) -> None:
    if "\x00" in text:
        raise UnsafeLocationError("contains a NUL character")
    if _ENCODED_TRAVERSAL.search(text):
        raise UnsafeLocationError(
            "contains a percent-encoded dot, slash, backslash or percent sign"
        )
    parts = re.split(r"[/\\]", text)
    if any(part == ".." for part in parts):
        raise UnsafeLocationError("contains a '..' segment")


def contained_path(path: str | os.PathLike[str], roots: Iterable[Path]) -> Path:
    """``path`` resolved (symlinks followed) if it lies under one of ``roots``, else refused.

    ``path`` must be absolute. The path need not exist yet (an output file), but its resolved
    form must still be inside a root, so a symlinked folder pointing outside is refused.
    """
    text = os.fspath(path)
    _reject_traversal(text)
    if not os.path.isabs(text):
        raise UnsafeLocationError("must be an absolute path")
    real = os.path.realpath(text)
    for root in roots:
        real_root = os.path.realpath(root)
        if os.path.commonpath([real_root, real]) == real_root and real != real_root:
            return Path(real)
    raise UnsafeLocationError(
        "is outside the folders this server may access (SCORECAST_FILE_ROOTS)"
    )


def file_url_path(url: str, roots: Iterable[Path]) -> Path:
    """The contained local path of a ``file:///…`` URL (host empty or ``localhost``)."""
    _reject_traversal(url)
    parts = urlsplit(url)
    if parts.scheme.lower() != "file":
        raise UnsafeLocationError("must be a file:/// URL")
    if parts.netloc not in ("", "localhost"):
        raise UnsafeLocationError("must not name a host (use file:///absolute/path)")
    if parts.query or parts.fragment:
        raise UnsafeLocationError("must not have a query or fragment")
    return contained_path(unquote(parts.path), roots)


def _ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """Parse IPv4 the way inet_aton does (decimal, octal, hex and short forms)."""
    if not re.fullmatch(r"[0-9a-fA-FxX.]+", host) or not host[0].isdigit():
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    bare = host.strip("[]").split("%", 1)[0]
    try:
        address = ipaddress.ip_address(bare)
    except ValueError:
        return _ipv4_literal(host)
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
#: SIIT's IPv4-translated addresses (RFC 2765), ``::ffff:0:a.b.c.d``: Python calls them global
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a translating gateway would deliver ``address`` to, if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64 or address in _IPV4_COMPATIBLE or address in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if address in _LOCAL_NAT64:
            return False
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not address.is_multicast


def check_host(host: str | None, *, allow_private: bool) -> None:
    """Refuse a missing host, and (unless ``allow_private``) local names and non-public IPs."""
    if not host:
        raise UnsafeLocationError("has no host")
    name = host.lower().rstrip(".")
    if _ip_literal(name) is None and not _HOST_NAME.fullmatch(name):
        raise UnsafeLocationError(f"host {host!r} is not one host name or IP address")
    if allow_private:
        return
    if name in _LOCAL_NAMES or name.endswith(".localhost") or name in _METADATA_NAMES:
        raise UnsafeLocationError(
            f"host {host!r} is a local address "
            "(allowed only when SCORECAST_ALLOW_PRIVATE_ENDPOINTS=1)"
        )
    address = _ip_literal(name)
    if address is not None and not _is_public(address):
        raise UnsafeLocationError(
            f"host {host!r} is a loopback, private or link-local address "
            "(allowed only when SCORECAST_ALLOW_PRIVATE_ENDPOINTS=1)"
        )


def resolve_host(host: str | None, port: int | None, *, allow_private: bool) -> list[str]:
    """``check_host`` plus DNS: every address ``host`` resolves to must be public.

    Returns the checked addresses (empty when private hosts are allowed or the name does not
    resolve; the client library then reports the connection failure naming the host). A
    client that can connect to a given address (``pin_address``) should, so that a second DNS
    answer cannot differ from the checked one.
    """
    check_host(host, allow_private=allow_private)
    if allow_private or host is None:
        return []
    try:
        infos = socket.getaddrinfo(host.strip("[]"), port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    addresses: list[str] = []
    for info in infos:
        text = str(info[4][0])
        address = _ip_literal(text)
        if address is not None and not _is_public(address):
            raise UnsafeLocationError(
                f"host {host!r} resolves to a loopback, private or link-local address "
                "(allowed only when SCORECAST_ALLOW_PRIVATE_ENDPOINTS=1)"
            )
        addresses.append(text)
    return addresses


class UnresolvedHost(UnsafeLocationError):
    """The host's name did not resolve when it was checked (``pinned_address``)."""


def pinned_address(host: str | None, port: int | None, *, allow_private: bool) -> str | None:
    """The checked address a client connects to instead of ``host`` (``resolve_host``), or None
    when private hosts are allowed (nothing to pin).

    A name that does not resolve is ``UnresolvedHost``, never connected to by name: the client
    would resolve it again, and a second answer (a DNS rebinding) could be a private address.
    """
    checked = resolve_host(host, port, allow_private=allow_private)
    if allow_private:
        return None
    if not checked:
        raise UnresolvedHost(f"host {host!r} does not resolve")
    return checked[0]


def check_url(url: object, schemes: Iterable[str], *, allow_private: bool) -> SplitResult:
    """Split ``url`` after checking its type, scheme and host (for schemes with a network host).

    Percent-encoded traversal and ``..`` segments are refused in every URL, so an object key
    cannot be used to climb out of a prefix in stores that normalise paths.
    """
    if not isinstance(url, str) or not url.strip():
        raise UnsafeLocationError("must be a non-empty string")
    if url != url.strip() or any(ord(ch) < 32 or ord(ch) == 127 for ch in url):
        raise UnsafeLocationError("must not contain control characters or surrounding spaces")
    _reject_traversal(url)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UnsafeLocationError(f"is not a valid URL ({exc})") from exc
    allowed = {scheme.lower() for scheme in schemes}
    if parts.scheme.lower() not in allowed:
        raise UnsafeLocationError(
            f"scheme {parts.scheme or '(none)'!r} is not supported here; use "
            + " or ".join(f"{scheme}://" for scheme in sorted(allowed))
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeLocationError("must not contain user or password (use a credential)")
    if parts.scheme.lower() in ("http", "https"):
        check_host(parts.hostname, allow_private=allow_private)
    return parts


def check_object_url(url: object, schemes: Iterable[str], *, allow_private: bool) -> SplitResult:
    """``check_url`` for the ``url`` of an object store (``s3``, ``gcp``, ``azure``): it names
    one object and carries nothing else.

    Refused, never quoting the URL: a query or a fragment (an Azure SAS or a GCS signed URL
    would authenticate nothing and sit in clear in the job: a credential holds secrets; a ``?``
    or ``#`` in an ``s3://`` key would be cut off), a path starting with ``//`` (the name's
    leading slash would be dropped; ``a//b`` inside a name is kept as it is, a name of its
    own), and a port in an ``s3://`` or ``gs://`` bucket.
    """
    parts = check_url(url, schemes, allow_private=allow_private)
    text = str(url)
    if "?" in text:
        raise UnsafeLocationError(
            "must not have a query (a SAS token or a signed URL's signature): use a credential"
        )
    if "#" in text:
        raise UnsafeLocationError("must not contain '#' (a fragment)")
    if parts.path.startswith("//"):
        raise UnsafeLocationError("must not start its path with '//' (the leading '/' is dropped)")
    if parts.scheme.lower() not in ("http", "https") and (
        parts.port is not None or ":" in parts.netloc
    ):
        raise UnsafeLocationError("must not have a port: the bucket is a name, not a host")
    return parts


def check_google_token_uri(value: object) -> None:
    """Refuse a service-account key's ``token_uri`` unless it is one of Google's endpoints.

    Any other URL would receive the key's signed assertion from the server, which could be
    aimed at an internal service; ``SCORECAST_ALLOW_PRIVATE_ENDPOINTS`` does not change this.
    """
    if value not in GOOGLE_TOKEN_URIS:
        raise UnsafeLocationError(
            "token_uri must be Google's token endpoint (https://oauth2.googleapis.com/token)"
        )
