"""Settings precedence (arguments, environment, profile file), the profile file, retry waits."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scorecast_client import (
    ClientSettings,
    ConfigurationError,
    EndpointError,
    Profile,
    ProfileFileError,
    RetryPolicy,
    resolve,
)
from scorecast_client._backoff import may_retry, parse_retry_after
from scorecast_client._settings import DEFAULT_ENDPOINT, read_profiles, save_profile


def _env(config: Path, **extra: str) -> dict[str, str]:
    return {"SCORECAST_CONFIG_DIR": str(config), **extra}


def test_arguments_then_environment_then_profile(tmp_path: Path) -> None:
    env = _env(tmp_path)
    saved = Profile("http://profile:1/api/v2", "from-profile")
    save_profile("main", saved, make_default=True, env=env)
    assert resolve(env=env) == resolve(endpoint=saved.endpoint + "/", token=saved.token, env={})
    env["SCORECAST_TOKEN"] = "from-env"
    settings = resolve(env=env)
    assert (settings.endpoint, settings.token) == ("http://profile:1/api/v2", "from-env")
    env["SCORECAST_ENDPOINT"] = "http://env:2/api/v2/"
    settings = resolve(endpoint="http://arg:3/api/v2", token="from-arg", env=env)
    assert (settings.endpoint, settings.token) == ("http://arg:3/api/v2", "from-arg")
    assert resolve(env=env).endpoint == "http://env:2/api/v2"


def test_named_profiles_and_the_default(tmp_path: Path) -> None:
    env = _env(tmp_path)
    save_profile("a", Profile("http://a/api/v2", "ta"), make_default=True, env=env)
    path = save_profile("b", Profile("http://b/api/v2", "tb"), make_default=False, env=env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    default, profiles = read_profiles(env)
    assert default == "a" and set(profiles) == {"a", "b"}
    assert resolve(env=env).token == "ta"
    assert resolve(profile="b", env=env).token == "tb"
    assert resolve(env={**env, "SCORECAST_PROFILE": "b"}).token == "tb"
    with pytest.raises(ConfigurationError, match="no profile 'c'"):
        resolve(profile="c", env=env)


def test_no_token_anywhere_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="scorecast login"):
        resolve(env=_env(tmp_path))
    assert resolve(token="t", env=_env(tmp_path)).endpoint == DEFAULT_ENDPOINT


def test_a_damaged_profile_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "profiles.json").write_text('{"profiles": {"a": {"token": "s3cret-t0ken"')
    with pytest.raises(ProfileFileError, match=r"profiles\.json.*line 1") as failure:
        resolve(env=_env(tmp_path))
    assert "s3cret" not in failure.value.message


def test_a_named_profile_must_exist_whatever_else_is_set(tmp_path: Path) -> None:
    env = _env(tmp_path, SCORECAST_ENDPOINT="http://env:2/api/v2", SCORECAST_TOKEN="t")
    with pytest.raises(ConfigurationError, match="no profile 'nope'"):
        resolve(profile="nope", env=env)
    with pytest.raises(ConfigurationError, match="no profile 'nope'"):
        resolve(env={**env, "SCORECAST_PROFILE": "nope"})
    assert resolve(env=env).token == "t"  # no profile named: the file is not needed
    # both as arguments (what `scorecast login` passes): SCORECAST_PROFILE is not read
    named = {**env, "SCORECAST_PROFILE": "nope"}
    assert resolve(endpoint="http://a:1/api/v2", token="t", env=named).token == "t"


def test_a_profiles_token_goes_to_its_own_endpoint_only(tmp_path: Path) -> None:
    env = _env(tmp_path)
    save_profile(
        "prod", Profile("https://prod.example/api/v2", "prod-token"), make_default=True, env=env
    )
    elsewhere = {**env, "SCORECAST_ENDPOINT": "http://elsewhere:8080/api/v2"}
    with pytest.raises(ConfigurationError, match=r"SCORECAST_ENDPOINT.*own endpoint") as failure:
        resolve(env=elsewhere)
    assert "prod-token" not in failure.value.message
    with pytest.raises(ConfigurationError, match="own endpoint"):
        resolve(endpoint="http://elsewhere:8080/api/v2", profile="prod", env=env)
    # with a token of its own, another endpoint is fine; the profile's own endpoint too
    assert resolve(env={**elsewhere, "SCORECAST_TOKEN": "other"}).token == "other"
    same = {**env, "SCORECAST_ENDPOINT": "HTTPS://prod.example/api/v2/"}
    assert resolve(env=same).token == "prod-token"
    # host names know no case, and 443 is https's own port
    same = {**env, "SCORECAST_ENDPOINT": "https://PROD.Example:443/api/v2"}
    assert resolve(env=same).token == "prod-token"
    assert resolve(env=same).endpoint == "https://prod.example/api/v2"


def test_a_token_is_stripped_and_one_with_control_characters_refused(tmp_path: Path) -> None:
    assert resolve(token=" tok\n", env={}).token == "tok"
    assert resolve(env=_env(tmp_path, SCORECAST_TOKEN="tok\r\n")).token == "tok"
    for bad in ("to\x00k", "to\nk", "tok\x1b[2J", "to k", "tök"):
        with pytest.raises(ConfigurationError, match="cannot hold") as failure:
            resolve(token=bad, env={})
        assert bad not in failure.value.message
    save_profile("p", Profile("http://h/api/v2", "t\x07k"), make_default=True, env=_env(tmp_path))
    with pytest.raises(ConfigurationError, match="token of the default profile"):
        resolve(env=_env(tmp_path))


def test_no_repr_shows_a_token() -> None:
    assert "s3cret" not in repr(ClientSettings("http://h/api/v2", "s3cret"))
    assert "s3cret" not in repr(Profile("http://h/api/v2", "s3cret"))
    assert "s3cret" not in repr(resolve(token="s3cret", env={}))


def test_an_endpoint_must_be_http() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        resolve(endpoint="ftp://host/api/v2", token="t", env={})


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:abc/api/v2",
        "http://[::1",
        "http://host:99999/api/v2",
        "http:///api/v2",
        "https://host/api/v2?x=1",
    ],
)
def test_an_endpoint_that_is_not_a_url_names_its_setting(tmp_path: Path, endpoint: str) -> None:
    env = _env(tmp_path, SCORECAST_ENDPOINT=endpoint, SCORECAST_TOKEN="t")
    with pytest.raises(EndpointError, match=r"^SCORECAST_ENDPOINT is not a usable URL"):
        resolve(env=env)
    with pytest.raises(EndpointError, match=r"^the endpoint is not a usable URL"):
        resolve(endpoint=endpoint, token="t", env={})
    save_profile("p", Profile(endpoint, "t"), make_default=True, env=_env(tmp_path))
    with pytest.raises(ConfigurationError, match=r"^the endpoint of profile 'p' in "):
        resolve(profile="p", env=_env(tmp_path))


def test_the_scheme_of_an_endpoint_is_case_insensitive() -> None:
    assert resolve(endpoint="HTTP://host:8080/api/v2/", token="t", env={}).endpoint == (
        "http://host:8080/api/v2"
    )
    assert resolve(endpoint="Https://host/api/v2", token="t", env={}).endpoint == (
        "https://host/api/v2"
    )


@given(
    st.integers(min_value=1, max_value=40),
    st.floats(min_value=0, max_value=10, allow_nan=False),
    st.floats(min_value=0, max_value=120, allow_nan=False),
    st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
def test_retry_waits_grow_and_stay_under_the_cap(
    retry: int, base: float, cap: float, after: float | None
) -> None:
    policy = RetryPolicy(attempts=50, base=base, cap=cap)
    wait = policy.delay(retry, after)
    assert 0 <= wait <= cap
    assert policy.delay(retry + 1) >= policy.delay(retry)
    if after is not None:
        assert wait >= min(cap, after)


@given(st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]), st.integers(100, 599))
def test_only_safe_methods_are_retried_and_only_on_gateway_answers(
    method: str, status: int
) -> None:
    safe = method in ("GET", "HEAD")
    assert may_retry(method, None) is safe
    assert may_retry(method, status) is (safe and status in (502, 503, 504))


def test_retry_after_in_seconds() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") is None
