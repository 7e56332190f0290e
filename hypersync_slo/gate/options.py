"""The gate's options: one ``--slo-…`` group, each also an ini key and an environment variable.

``add_options`` registers them; ``build_settings`` turns the parsed values into one frozen
``SloSettings`` (command line > environment > ini file > default). The environment mapping is
handed in by the plugin, the one place in the gate that reads ``os.environ``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from hypersync_slo.config import parse_quantity
from hypersync_slo.errors import ConfigError, UsageError, explain
from hypersync_slo.inputs import header_name, http_url
from hypersync_slo.redaction import check_secret, redact_url

#: Option name (without ``--slo-``) -> (help, kind) where kind is str, float, bool or path.
OPTIONS: dict[str, tuple[str, str]] = {
    "target-url": (
        "base URL of the HyperSync deployment to check, e.g. http://127.0.0.1:8080",
        "str",
    ),
    "prometheus-url": (
        "Prometheus base URL for the KPI tests (-m kpi); without it they skip",
        "str",
    ),
    "prometheus-job": (
        "Prometheus job label of the target for the KPI tests (default: all jobs)",
        "str",
    ),
    "config": ("SLO file (slo.yaml or OpenSLO v1); default: the packaged one", "path"),
    "traffic": (
        "traffic file replacing the SLO file's traffic: section (the requests the business, "
        "tracing and request-ID checks send)",
        "path",
    ),
    "timeout": ("total seconds allowed for one request to the target (default 5)", "float"),
    "auth-header": ("header carrying the token (default Authorization)", "str"),
    "auth-token-env": ("name of the environment variable holding the token", "str"),
    "insecure": (
        "do not verify the target's TLS certificate (verification is on by default)",
        "bool",
    ),
    "window": ("KPI window ending now, e.g. 5m or 1h (default 5m)", "str"),
    "log-file": ("path of the target's JSON log, for the log-correlation checks", "path"),
    "series-budget": (
        "most series one /metrics scrape may hold before M-09 warns (default 10000)",
        "str",
    ),
    "junit-xml": (
        "write the gate's JUnit XML to PATH (junit-10.xsd; one suite, contract IDs in the case "
        "names, figures as suite properties)",
        "path",
    ),
    "fault-admin": (
        "allow injecting a dependency outage through the target's /admin/faults "
        "(reference service only) to prove H-02/H-13",
        "bool",
    ),
}

DEFAULT_TIMEOUT = 5.0
DEFAULT_WINDOW = "5m"
DEFAULT_SERIES_BUDGET = 10_000


def env_name(option: str) -> str:
    """``target-url`` -> ``HYPERSYNC_SLO_TARGET_URL``."""
    return "HYPERSYNC_SLO_" + option.upper().replace("-", "_")


def ini_name(option: str) -> str:
    """``target-url`` -> ``slo_target_url``."""
    return "slo_" + option.replace("-", "_")


def dest_name(option: str) -> str:
    """``target-url`` -> ``slo_target_url`` (the argparse destination)."""
    return ini_name(option)


def add_options(parser: pytest.Parser) -> None:
    """Register the ``--slo-…`` option group and the matching ini keys."""
    group = parser.getgroup("hypersync-slo", "hypersync-slo contract gate")
    for option, (help_text, kind) in OPTIONS.items():
        full_help = f"{help_text} [ini: {ini_name(option)}, env: {env_name(option)}]"
        if kind == "bool":
            group.addoption(
                f"--slo-{option}",
                action="store_true",
                default=None,
                dest=dest_name(option),
                help=full_help,
            )
            parser.addini(ini_name(option), help_text, type="bool", default=False)
        else:
            group.addoption(
                f"--slo-{option}",
                action="store",
                default=None,
                dest=dest_name(option),
                metavar=option.split("-")[-1].upper(),
                help=full_help,
            )
            parser.addini(ini_name(option), help_text, type="string", default="")


@dataclass(frozen=True)
class SloSettings:
    """Everything the gate was told, validated once."""

    target_url: str | None = None
    prometheus_url: str | None = None
    prometheus_job: str | None = None
    config_path: Path | None = None
    traffic_path: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    auth_header: str = "Authorization"
    auth_token: str | None = None
    auth_token_env: str | None = None
    verify_tls: bool = True
    window: float = 300.0
    window_text: str = DEFAULT_WINDOW
    log_file: Path | None = None
    fault_admin: bool = False
    series_budget: int = DEFAULT_SERIES_BUDGET
    junit_xml: Path | None = None

    def headers(self) -> dict[str, str]:
        """Headers every request to the target carries (the auth header when a token is set)."""
        if self.auth_token is None:
            return {}
        token = self.auth_token
        if self.auth_header.lower() == "authorization" and " " not in token:
            token = f"Bearer {token}"
        return {self.auth_header: token}

    def describe(self) -> list[str]:
        """Lines for the report header (never the token itself)."""
        auth = f"{self.auth_header} from ${self.auth_token_env}" if self.auth_token_env else "none"
        return [
            f"target: {redact_url(self.target_url) or '(not set: --slo-target-url)'}",
            f"prometheus: {redact_url(self.prometheus_url) or '(not set: KPI tests skip)'}",
            f"request timeout: {self.timeout:g} s; TLS verification: "
            f"{'on' if self.verify_tls else 'OFF (--slo-insecure)'}; auth: {auth}",
            f"log file: {self.log_file or '(not set: log checks skip)'}",
            f"series budget (M-09): {self.series_budget}",
        ]


def _raw(config: pytest.Config, environ: Mapping[str, str], option: str) -> object:
    """The value of one option: command line, then environment, then ini, else None."""
    value = config.getoption(dest_name(option))
    if value is not None:
        return value
    if env_name(option) in environ and environ[env_name(option)] != "":
        return environ[env_name(option)]
    ini = config.getini(ini_name(option))
    if ini not in ("", None, False):
        return ini
    return None


def _url(value: object, option: str) -> str | None:
    if value is None:
        return None
    return http_url(value, option=f"--slo-{option}")


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _positive_int(value: object, option: str, default: int) -> int:
    if value is None:
        return default
    try:
        number = int(str(value).strip().replace("_", ""))
    except ValueError:
        number = 0
    if number <= 0:
        raise UsageError(
            explain(
                f"--slo-{option} must be a positive whole number.",
                observed=repr(str(value)),
            )
        )
    return number


def build_settings(config: pytest.Config, environ: Mapping[str, str]) -> SloSettings:
    """Build the frozen settings from the command line, ``environ`` and the ini file."""

    def raw(option: str) -> object:
        return _raw(config, environ, option)

    timeout = DEFAULT_TIMEOUT
    if raw("timeout") is not None:
        try:
            timeout = parse_quantity(raw("timeout"), where="--slo-timeout", expect="s")
        except ConfigError as exc:
            raise UsageError(str(exc)) from exc
        if timeout <= 0:
            raise UsageError(explain("--slo-timeout must be positive.", observed=raw("timeout")))
    window_text = str(raw("window") or DEFAULT_WINDOW)
    try:
        window = parse_quantity(window_text, where="--slo-window", expect="s")
    except ConfigError as exc:
        raise UsageError(str(exc)) from exc
    if window <= 0:
        raise UsageError(explain("--slo-window must be positive.", observed=window_text))
    token_env = raw("auth-token-env")
    token: str | None = None
    if token_env is not None:
        token_env = str(token_env)
        if not environ.get(token_env):
            raise UsageError(
                explain(
                    f"--slo-auth-token-env names ${token_env}, but it is not set or empty.",
                    expected=f"export {token_env}=<token> before running the gate",
                )
            )
        # Validated and registered for masking: a value a header cannot carry is exit 2
        # naming the variable, never the value.
        token = check_secret(environ[token_env], token_env)
    series_budget = _positive_int(raw("series-budget"), "series-budget", DEFAULT_SERIES_BUDGET)
    config_path = raw("config")
    traffic_path = raw("traffic")
    log_file = raw("log-file")
    insecure = raw("insecure")
    fault_admin = raw("fault-admin")
    junit_xml = raw("junit-xml")
    return SloSettings(
        target_url=_url(raw("target-url"), "target-url"),
        prometheus_url=_url(raw("prometheus-url"), "prometheus-url"),
        prometheus_job=str(raw("prometheus-job")) if raw("prometheus-job") else None,
        config_path=Path(str(config_path)) if config_path else None,
        traffic_path=Path(str(traffic_path)) if traffic_path else None,
        timeout=timeout,
        auth_header=header_name(raw("auth-header") or "Authorization", option="--slo-auth-header"),
        auth_token=token,
        auth_token_env=token_env if token_env is None else str(token_env),
        verify_tls=not (insecure is not None and _bool(insecure)),
        window=window,
        window_text=window_text,
        log_file=Path(str(log_file)) if log_file else None,
        fault_admin=fault_admin is not None and _bool(fault_admin),
        series_budget=series_budget,
        junit_xml=Path(str(junit_xml)) if junit_xml else None,
    )
