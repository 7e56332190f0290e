"""H-15's rules: what a health body must not disclose, found and redacted."""

from __future__ import annotations

import pytest

from hypersync_slo.gate.disclosure import disclosures, private_address, text_disclosures

CLEAN = {
    "status": "warn",
    "checks": {
        "receipt-store:responseTime": [
            {
                "componentType": "datastore",
                "status": "warn",
                "observedValue": 412.5,
                "observedUnit": "ms",
                "time": "2026-11-27T01:02:03Z",
                "output": "all checks pass: slow answer from the receipt store (127.0.0.1:5432)",
            }
        ],
        "auth:token": [{"status": "pass", "output": "token: valid for 3600 s"}],
    },
}


def test_an_honest_warning_discloses_nothing() -> None:
    """A plain-words output, loopback address and the word 'token' are not findings."""
    assert disclosures(CLEAN) == []


@pytest.mark.parametrize(
    ("text", "rule", "excerpt"),
    [
        (
            "db at postgresql://app:hunter2@db.internal/x",
            "credentials in a URL",
            "postgresql://app:***@",
        ),
        ("cache redis://:pw-1@cache:6379/0", "credentials in a URL", "redis://:***@"),
        ("connect failed: password=hunter2 host=db", "a secret value", "password=***"),
        ("client_secret: abc123", "a secret value", "client_secret=***"),
        ("GET /oauth?access_token=eyJhbGci", "a secret value", "access_token=***"),
        (
            'Traceback (most recent call last):\n  File "/app/x.py", line 3, in f',
            "python traceback",
            "Traceback (most recent call last)",
        ),
        ('  File "/app/x.py", line 3, in f', "python traceback", 'File "/app/x.py", line 3'),
        (
            "java.sql.SQLException: refused\n\tat com.acme.Db.open(Db.java:42)",
            "java stack trace",
            "at com.acme.Db.open(Db.java:42)",
        ),
        ("goroutine 7 [running]:\nmain.main()", "go stack trace", "goroutine 7 [running]"),
        ("upstream 10.1.2.3:8080 refused", "a private network address", "10.1.2.3"),
        ("upstream 192.168.0.10 refused", "a private network address", "192.168.0.10"),
        ("upstream [fd00::5]:80 refused", "a private network address", "fd00::5"),
    ],
)
def test_each_rule_finds_and_redacts(text: str, rule: str, excerpt: str) -> None:
    """Each kind of disclosure is named with a redacted excerpt, never the secret."""
    found = text_disclosures("output", text, free_text=True)
    assert [(d.rule, d.excerpt) for d in found][:1] == [(rule, excerpt)]
    assert "hunter2" not in found[0].describe()


@pytest.mark.parametrize(
    "text", ["127.0.0.1", "::1", "8.8.8.8", "203.0.113.7", "172.32.0.1", "v1.2.3.4"]
)
def test_public_loopback_and_version_numbers_are_not_private(text: str) -> None:
    """Loopback, public and documentation addresses, and dotted versions, are no finding."""
    assert private_address(f"peer {text} ok") is None


def test_addresses_count_only_in_free_text() -> None:
    """A private address in componentId is not judged; in output it is, with its JSON path."""
    body = {"checks": {"db": [{"componentId": "10.0.0.7", "output": "peer 172.16.4.2 down"}]}}
    found = disclosures(body)
    assert [d.describe() for d in found] == [
        "checks['db'][0]['output']: a private network address (172.16.4.2)"
    ]


def test_raw_text_is_scanned_whole() -> None:
    """A body that is not JSON is scanned as one text, addresses included."""
    found = disclosures("FAIL mysql://root:toor@10.0.0.9/db")
    assert {d.rule for d in found} == {"credentials in a URL", "a private network address"}
