"""Where the endpoint and token come from, in one declared order of precedence:

1. the arguments given to ``Client(endpoint=..., token=...)`` (or the CLI's options);
2. the environment: ``SCORECAST_ENDPOINT``, ``SCORECAST_TOKEN``;
3. a profile of the profile file written by ``scorecast login``: the one named by the argument
   ``profile``, else by ``SCORECAST_PROFILE``, else the file's default profile.

The profile file is ``profiles.json`` in the user's configuration folder
(``$XDG_CONFIG_HOME/scorecast`` or ``~/.config/scorecast`` on Linux,
``~/Library/Application Support/scorecast`` on macOS, ``%APPDATA%\\scorecast`` on Windows);
``SCORECAST_CONFIG_DIR`` replaces that folder. It holds tokens, so it is written with mode 0600.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from scorecast_client._exceptions import ConfigurationError, EndpointError

DEFAULT_ENDPOINT = "http://127.0.0.1:8080/api/v2"
DEFAULT_PROFILE = "default"
PROFILE_FILE = "profiles.json"


@dataclass(frozen=True)
class ClientSettings:
    """A resolved endpoint (``…/api/v2`` without the trailing slash) and token."""

    endpoint: str
    token: str


@dataclass(frozen=True)
class Profile:
    endpoint: str
    token: str


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

    Raises ConfigurationError when no token is found anywhere, or when ``profile`` is named
    but absent from the profile file; EndpointError (a ConfigurationError) when the endpoint
    is not a usable http(s) URL.
    """
    env = os.environ if env is None else env
    endpoint, setting = _given_endpoint(endpoint, env)
    token = token or env.get("SCORECAST_TOKEN") or None
    if endpoint is None or token is None:
        name = profile or env.get("SCORECAST_PROFILE") or None
        chosen = _load_profile(name, env)
        if chosen is not None:
            if endpoint is None:
                endpoint = chosen.endpoint
                which = f"profile {name!r}" if name else "the default profile"
                setting = f"the endpoint of {which} in {profile_path(env)}"
            token = token or chosen.token
    if not token:
        raise ConfigurationError(
            "no API token: pass token=, set SCORECAST_TOKEN or run `scorecast login`"
        )
    return ClientSettings(normalize_endpoint(endpoint or DEFAULT_ENDPOINT, setting), token)


def _given_endpoint(endpoint: str | None, env: Mapping[str, str]) -> tuple[str | None, str]:
    """The endpoint of the arguments, else of the environment, and the setting it came from."""
    if endpoint:
        return endpoint, "the endpoint"
    if env.get("SCORECAST_ENDPOINT"):
        return env["SCORECAST_ENDPOINT"], "SCORECAST_ENDPOINT"
    return None, "the endpoint"


def normalize_endpoint(endpoint: str, setting: str = "the endpoint") -> str:
    """``HTTPS://host/api/v2/`` → ``https://host/api/v2``.

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
    return f"{scheme.lower()}://{rest}"


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
        raise ConfigurationError(f"cannot read the profile file {path}: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("profiles", {}), dict):
        raise ConfigurationError(f"the profile file {path} is not a scorecast profile file")
    profiles: dict[str, Profile] = {}
    for name, entry in raw.get("profiles", {}).items():
        if isinstance(entry, dict) and isinstance(entry.get("token"), str):
            profiles[str(name)] = Profile(
                str(entry.get("endpoint") or DEFAULT_ENDPOINT), entry["token"]
            )
    default = raw.get("default")
    return (default if isinstance(default, str) else None), profiles


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
