"""Where the endpoint and token come from, in one declared order of precedence:

1. the arguments given to ``Client(endpoint=..., token=...)`` (or the CLI's options);
2. the environment: ``SCORECAST_ENDPOINT``, ``SCORECAST_TOKEN``;
3. a profile of the profile file written by ``scorecast login``: the one named by the argument
   ``profile``, else by ``SCORECAST_PROFILE``, else the file's default profile.

A profile's token goes only to that profile's own endpoint: when the endpoint comes from an
argument or the environment and differs from the profile's, the token must come from there too
(else ConfigurationError). A profile that is named must exist, whatever else is set (an
endpoint and a token both given as arguments need no profile: ``SCORECAST_PROFILE`` is then
not read).

The profile file is ``profiles.json`` in the user's configuration folder
(``$XDG_CONFIG_HOME/scorecast`` or ``~/.config/scorecast`` on Linux,
``~/Library/Application Support/scorecast`` on macOS, ``%APPDATA%\\scorecast`` on Windows);
``SCORECAST_CONFIG_DIR`` replaces that folder. It holds tokens, so it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from scorecast_client._exceptions import ConfigurationError, EndpointError, ProfileFileError

DEFAULT_ENDPOINT = "http://127.0.0.1:8080/api/v2"
DEFAULT_PROFILE = "default"
PROFILE_FILE = "profiles.json"


@dataclass(frozen=True)
class ClientSettings:
    """A resolved endpoint (``…/api/v2`` without the trailing slash) and token."""

    endpoint: str
    #: never in the repr, which ends up in logs and tracebacks
    token: str = field(repr=False)


@dataclass(frozen=True)
class Profile:
    endpoint: str
    token: str = field(repr=False)


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder of the profile file (see the module docstring)."""
    env = os.environ if env is None else env
    override = env.get("SCORECAST_CONFIG_DIR")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("scorecast", appauthor=False, roaming=True))


def profile_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / PROFILE_FILE


def resolve(
    endpoint: str | None = None,
    token: str | None = None,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
) -> ClientSettings:
    """Endpoint and token by the precedence of the module docstring.

    Raises ConfigurationError when no token is found anywhere, when the token cannot be one
    (control characters), when a profile is named (``profile``, ``SCORECAST_PROFILE``) but
    absent from the profile file, or when a profile's token would go to another endpoint;
    ProfileFileError when the profile file cannot be read; EndpointError (a
    ConfigurationError) when the endpoint is not a usable http(s) URL.
    """
    env = os.environ if env is None else env
    # arguments alone (``scorecast login``'s) need no profile, unless one is named with them
    self_contained = profile is None and bool(endpoint) and bool(token and token.strip())
    endpoint, setting = _given_endpoint(endpoint, env)
    token = _given_token(token, env)
    name = profile or env.get("SCORECAST_PROFILE") or None
    if not self_contained and (name is not None or endpoint is None or token is None):
        chosen = _load_profile(name, env)
        which = f"profile {name!r}" if name else "the default profile"
        if chosen is not None and endpoint is None:
            endpoint = chosen.endpoint
            setting = f"the endpoint of {which} in {profile_path(env)}"
        elif chosen is not None and token is None and not _same_endpoint(endpoint or "", chosen):
            raise ConfigurationError(
                f"{setting} {endpoint!r} is not the endpoint of {which}, and a profile's token "
                "is sent to its own endpoint only: give a token with it (token=, "
                "SCORECAST_TOKEN) or use the profile's endpoint"
            )
        if chosen is not None and token is None:
            token = _checked_token(chosen.token, f"the token of {which}")
    if not token:
        raise ConfigurationError(
            "no API token: pass token=, set SCORECAST_TOKEN or run `scorecast login`"
        )
    return ClientSettings(normalize_endpoint(endpoint or DEFAULT_ENDPOINT, setting), token)


def _given_token(token: str | None, env: Mapping[str, str]) -> str | None:
    """The token of the arguments, else of the environment, stripped; None when neither has
    one."""
    if token is not None and token.strip():
        return _checked_token(token, "the token")
    if env.get("SCORECAST_TOKEN", "").strip():
        return _checked_token(env["SCORECAST_TOKEN"], "SCORECAST_TOKEN")
    return None


def _checked_token(token: str, setting: str) -> str:
    """``token`` without surrounding whitespace (a newline left by a file or ``echo``).

    Raises ConfigurationError, without showing the token, when it holds a character that
    cannot travel in an HTTP header (a control character, a space, non-ASCII).
    """
    cleaned = token.strip()
    if not all(" " < char < "\x7f" for char in cleaned):
        raise ConfigurationError(
            f"{setting} holds a character a token cannot hold (a control character, a space "
            "or a non-ASCII character); check where it was copied from"
        )
    return cleaned


def _same_endpoint(endpoint: str, profile: Profile) -> bool:
    try:
        return normalize_endpoint(endpoint) == normalize_endpoint(profile.endpoint)
    except EndpointError:
        return False


def _given_endpoint(endpoint: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The endpoint of the arguments, else of the environment, and the setting it came from."""
    if endpoint:
        return endpoint, "the endpoint"
    if env.get("SCORECAST_ENDPOINT"):
        return env["SCORECAST_ENDPOINT"], "SCORECAST_ENDPOINT"
    return None, "the endpoint"


def normalize_endpoint(endpoint: str, setting: str = "the endpoint") -> str:
    """``HTTPS://Host:443/api/v2/`` → ``https://host/api/v2``.

    Raises EndpointError, naming ``setting`` (where the endpoint came from, e.g.
    ``SCORECAST_ENDPOINT``), for what is not an http(s) URL with a host and a valid port.
    """
    cleaned = endpoint.strip()
    scheme, separator, rest = cleaned.partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        raise EndpointError(f"{setting} must start with http:// or https://: {cleaned!r}")
    cleaned, rest = cleaned.rstrip("/"), rest.rstrip("/")
    problem = _url_problem(cleaned)
    if problem:
        raise EndpointError(f"{setting} is not a usable URL ({problem}): {cleaned!r}")
    scheme = scheme.lower()
    netloc, slash, path = rest.partition("/")
    netloc = netloc.lower()  # host names know no case
    default_port = {"http": ":80", "https": ":443"}[scheme]
    if netloc.endswith(default_port):
        netloc = netloc.removesuffix(default_port)
    return f"{scheme}://{netloc}{slash}{path}"


def _url_problem(url: str) -> str | None:
    """What keeps an http(s) URL from being an API root, or None."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        return str(exc)
    if not parsed.host:
        return "no host"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"port {parsed.port} is out of range"
    if parsed.query or parsed.fragment:
        return "a query or fragment"
    return None


def read_profiles(env: Mapping[str, str] | None = None) -> tuple[str | None, dict[str, Profile]]:
    """The default profile's name and every profile of the file (empty when there is none)."""
    path = profile_path(env)
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, {}
    except (OSError, ValueError) as exc:
        raise ProfileFileError(f"cannot read the profile file {path}: {_reason(exc)}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles", {}), dict):
        raise ProfileFileError(f"the profile file {path} is not a scorecast profile file")
    profiles: dict[str, Profile] = {}
    for name, entry in raw.get("profiles", {}).items():
        if isinstance(entry, dict) and isinstance(entry.get("token"), str):
            profiles[str(name)] = Profile(
                str(entry.get("endpoint") or DEFAULT_ENDPOINT), entry["token"]
            )
    default = raw.get("default")
    return (default if isinstance(default, str) else None), profiles


def _reason(exc: OSError | ValueError) -> str:
    """Why the profile file could not be read, without quoting it (it holds tokens)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON (line {exc.lineno}, column {exc.colno})"
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return "not UTF-8 text"


def save_profile(
    name: str, profile: Profile, *, make_default: bool, env: Mapping[str, str] | None = None
) -> Path:
    """Add or replace profile ``name``; the file is replaced atomically and is mode 0600."""
    default, profiles = read_profiles(env)
    profiles[name] = profile
    if make_default or default is None or default not in profiles:
        default = name
    path = profile_path(env)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {
        "default": default,
        "profiles": {
            key: {"endpoint": p.endpoint, "token": p.token} for key, p in profiles.items()
        },
    }
    staged = path.with_name(path.name + ".tmp")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    os.chmod(staged, 0o600)  # O_CREAT's mode does not apply to a file left by a crash
    os.replace(staged, path)
    return path


def _load_profile(name: str | None, env: Mapping[str, str]) -> Profile | None:
    default, profiles = read_profiles(env)
    if name is None:
        return profiles.get(default) if default else None
    if name not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigurationError(f"no profile {name!r} in {profile_path(env)} (known: {known})")
    return profiles[name]
