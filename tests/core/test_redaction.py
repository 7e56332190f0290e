"""The redaction layer: URL userinfo and registered secrets never survive ``redact``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hypersync_slo import redaction
from hypersync_slo.errors import UsageError


@pytest.fixture(autouse=True)
def _empty_registry() -> Iterator[None]:
    """Each test starts and ends with no registered secret."""
    redaction.forget_secrets()
    yield
    redaction.forget_secrets()


def test_url_userinfo_is_masked_and_password_registered() -> None:
    """``redact_url`` replaces user:password with *** and the password is masked elsewhere after."""
    url = "http://alice:S3cr%40t@prom.internal:9090/api?x=1"
    assert redaction.redact_url(url) == "http://***@prom.internal:9090/api?x=1"
    assert redaction.redact("connect failed (S3cr@t) for S3cr%40t") == (
        "connect failed (***) for ***"
    )


def test_unescaped_at_in_password_is_masked_whole() -> None:
    """A password holding a raw ``@`` is masked up to the last ``@`` of the authority."""
    text = "GET http://u:pa@ss@host:1/x failed"
    assert redaction.redact(text) == "GET http://***@host:1/x failed"


def test_registered_token_masked_with_bearer_prefix() -> None:
    """A registered token is masked in free text, the Bearer prefix kept, the value gone."""
    redaction.register_secret("tok-1234567")
    assert redaction.redact("Authorization: Bearer tok-1234567") == "Authorization: Bearer ***"


def test_redact_obj_walks_json() -> None:
    """Every string in a nested JSON-like value is redacted, keys included."""
    redaction.register_secret("hunter22")
    value = {"url": "https://u:p@h/", "list": ["hunter22", 3], "hunter22": None}
    assert redaction.redact_obj(value) == {"url": "https://***@h/", "list": ["***", 3], "***": None}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("token\n", "trailing line break"),
        ("tok\r\nen", "line break"),
        ("tökén", "non-ASCII"),
        ("to\x00ken", "control character"),
        (" token", "whitespace"),
    ],
)
def test_check_secret_refuses_bad_values_naming_the_variable_only(value: str, problem: str) -> None:
    """A token a header cannot carry is exit 2 naming the variable and the problem, never the value."""
    with pytest.raises(UsageError) as info:
        redaction.check_secret(value, "HS_TOKEN")
    message = str(info.value)
    assert "$HS_TOKEN" in message
    assert problem in message
    assert value.strip() not in message


def test_secret_from_env_required_and_optional() -> None:
    """An unset required variable is exit 2 naming it; an unset optional one is None."""
    assert redaction.secret_from_env({}, "X_TOKEN", required=False) is None
    with pytest.raises(UsageError, match=r"\$X_TOKEN is not set"):
        redaction.secret_from_env({"X_TOKEN": ""}, "X_TOKEN", required=True)
    assert redaction.secret_from_env({"X_TOKEN": "abcd"}, "X_TOKEN", required=True) == "abcd"


@settings(max_examples=60, deadline=None)
@given(
    secret=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=4),
    before=st.text(max_size=20),
    after=st.text(max_size=20),
)
def test_registered_secret_never_survives(secret: str, before: str, after: str) -> None:
    """Whatever surrounds it, a registered secret is absent from the redacted text."""
    redaction.register_secret(secret)
    assert secret not in redaction.redact(before + secret + after)


@settings(max_examples=100, deadline=None)
@given(url=st.text(max_size=60))
def test_redact_url_is_total(url: str) -> None:
    """``redact_url`` never raises, whatever the text."""
    assert isinstance(redaction.redact_url(url), str)


def test_basic_auth_header_form_is_masked() -> None:
    """A server echoing the Authorization header cannot reveal a URL password in base64."""
    redaction.register_url_secrets("http://ops:pa55word@h/")
    assert redaction.redact("seen: Basic b3BzOnBhNTV3b3Jk") == "seen: Basic ***"


@pytest.mark.parametrize(
    "url", ["http:/ops:pa55word@h/", "http:ops:pa55word@h", "HTTP:///ops:pa55word@h"]
)
def test_malformed_url_userinfo_is_registered(url: str) -> None:
    """A typo'd URL still has its password masked: its error message echoes it."""
    redaction.register_url_secrets(url)
    assert "pa55word" not in redaction.redact(f"not a URL: {url}")
