"""The Alertmanager configuration: which alert level reaches whom.

``RoutingSpec`` is the routing file (``--routing FILE``, or the packaged default): one receiver per
alert level (critical -> PagerDuty Events API v2, warning -> Slack incoming webhook, info ->
email), grouping and timers. ``alertmanager_config(spec)`` turns it into the configuration
Alertmanager 0.25 reads, with:

* one child route per severity (``matchers``, never the deprecated ``match``), the info receiver
  as the root's default so an alert without a known severity is still delivered;
* inhibition: a critical alert silences the warning of the same ``alertname`` (and job, instance,
  mount point), and a burn-rate page silences the ticket of the same SLO;
* ``send_resolved: true`` on every integration (the defaults differ per integration);
* secrets only as file references (``routing_key_file``, ``api_url_file``,
  ``auth_password_file``, all supported by Alertmanager 0.25). Alertmanager does not expand
  environment variables in its configuration, so a secret held in the environment must be written
  to a file by the deployment (e.g. a mounted Kubernetes secret); inlining is refused.

A real Alertmanager runs this configuration through ``stack.AlertmanagerServer``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hypersync_slo.alerting.rules import SEVERITIES, dump_yaml
from hypersync_slo.config import parse_quantity
from hypersync_slo.errors import ConfigError, explain
from hypersync_slo.yamlfiles import load_yaml, read_text_file

ReceiverKind = Literal["pagerduty", "slack", "email"]
#: The secret of each integration, as the file reference Alertmanager 0.25 supports.
SECRET_FIELDS: dict[str, str] = {
    "pagerduty": "routing_key_file",
    "slack": "api_url_file",
    "email": "auth_password_file",
}
#: Fields that would put a secret inline in the configuration: always refused.
INLINE_SECRETS = ("routing_key", "service_key", "api_url", "auth_password", "auth_secret")
ALLOWED: dict[str, tuple[str, ...]] = {
    "pagerduty": ("type", "routing_key_file", "url", "client", "client_url"),
    "slack": ("type", "api_url_file", "channel", "username"),
    "email": (
        "type",
        "to",
        "from",
        "smarthost",
        "hello",
        "auth_username",
        "auth_password_file",
        "auth_identity",
        "require_tls",
    ),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "pagerduty": (),
    "slack": ("channel",),
    "email": ("to", "from", "smarthost"),
}
PAGERDUTY_EVENTS_V2 = "https://events.pagerduty.com/v2/enqueue"

DEFAULT_ROUTING: dict[str, Any] = {
    "routes": {"critical": "pagerduty", "warning": "slack", "info": "email"},
    "group_by": ["alertname", "job"],
    "group_wait": "30s",
    "group_interval": "5m",
    "repeat_interval": "4h",
    "receivers": {
        "pagerduty": {
            "type": "pagerduty",
            "routing_key_file": "/etc/alertmanager/secrets/pagerduty-routing-key",
        },
        "slack": {
            "type": "slack",
            "api_url_file": "/etc/alertmanager/secrets/slack-webhook-url",
            "channel": "#hypersync-alerts",
        },
        "email": {
            "type": "email",
            "to": "hypersync-oncall@example.org",
            "from": "alertmanager@example.org",
            "smarthost": "localhost:25",
            "require_tls": False,
        },
    },
}


@dataclass(frozen=True)
class Receiver:
    """One notification target: its kind, plain settings and the file holding its secret."""

    name: str
    kind: ReceiverKind
    settings: Mapping[str, Any]

    @property
    def secret_file(self) -> str | None:
        """The path of the secret file, if the receiver has one."""
        value = self.settings.get(SECRET_FIELDS[self.kind])
        return str(value) if value else None


@dataclass(frozen=True)
class RoutingSpec:
    """Validated routing: severity -> receiver, the receivers, grouping and timers."""

    routes: Mapping[str, str]
    receivers: Mapping[str, Receiver]
    group_by: tuple[str, ...] = ("alertname", "job")
    group_wait: str = "30s"
    group_interval: str = "5m"
    repeat_interval: str = "4h"
    source: str = "<default routing>"

    def __post_init__(self) -> None:
        where = self.source
        missing = [level for level in SEVERITIES if level not in self.routes]
        if missing:
            raise ConfigError(
                explain(
                    f"{where}: routes must name a receiver for every alert level.",
                    missing_levels=", ".join(missing),
                    example="routes: {critical: pagerduty, warning: slack, info: email}",
                )
            )
        extra = sorted(set(self.routes) - set(SEVERITIES))
        if extra:
            raise ConfigError(
                f"{where}: routes: unknown alert level(s) {', '.join(extra)}; "
                f"levels are {', '.join(SEVERITIES)}."
            )
        for level in SEVERITIES:
            name = self.routes[level]
            if name not in self.receivers:
                raise ConfigError(
                    explain(
                        f"{where}: routes.{level} names an unknown receiver {name!r}.",
                        defined_receivers=", ".join(sorted(self.receivers)) or "(none)",
                        fix="define it under 'receivers:' or route the level to a defined one",
                    )
                )
        if "alertname" not in self.group_by:
            raise ConfigError(
                f"{where}: group_by must include 'alertname' (got {list(self.group_by)})."
            )
        for key in ("group_wait", "group_interval", "repeat_interval"):
            parse_quantity(getattr(self, key), where=f"{where}: {key}", expect="s")

    def check_secret_files(self) -> None:
        """Refuse when a routed receiver's secret file is absent or empty on this machine."""
        for level in SEVERITIES:
            receiver = self.receivers[self.routes[level]]
            path = receiver.secret_file
            if path is None:
                continue
            p = Path(path)
            if not p.is_file() or not p.read_text("utf-8", errors="replace").strip():
                raise ConfigError(
                    explain(
                        f"missing secret for receiver {receiver.name!r} ({receiver.kind}, alert level {level}).",
                        expected=f"a non-empty file at {path} ({SECRET_FIELDS[receiver.kind]})",
                        observed="absent" if not p.is_file() else "empty",
                        fix="create the file (mode 0600), or render without --check-secrets on a "
                        "machine that does not hold the secrets",
                    )
                )


def _receiver(name: str, spec: Any, where: str) -> Receiver:
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: receivers.{name} must be a mapping with a 'type'.")
    kind = spec.get("type")
    if kind not in ALLOWED:
        raise ConfigError(
            explain(
                f"{where}: receivers.{name} has an unknown receiver type {kind!r}.",
                known_types=", ".join(ALLOWED),
            )
        )
    inline = sorted(set(spec) & set(INLINE_SECRETS))
    if inline:
        raise ConfigError(
            explain(
                f"{where}: receivers.{name} puts a secret inline ({', '.join(inline)}).",
                fix=f"write the secret to a file and give its path as {SECRET_FIELDS[kind]}",
                why="generated configuration is committed and reviewed; secrets must never be in it",
            )
        )
    unknown = sorted(set(spec) - set(ALLOWED[kind]))
    if unknown:
        raise ConfigError(
            f"{where}: receivers.{name}: unknown key(s) {', '.join(unknown)} for type "
            f"{kind}; known: {', '.join(ALLOWED[kind])}."
        )
    absent = [key for key in REQUIRED[kind] if not spec.get(key)]
    if absent:
        raise ConfigError(f"{where}: receivers.{name} ({kind}) needs {', '.join(absent)}.")
    secret = SECRET_FIELDS[kind]
    needs_secret = kind != "email" or bool(spec.get("auth_username"))
    if needs_secret and not spec.get(secret):
        raise ConfigError(
            explain(
                f"{where}: missing secret for receiver {name!r} ({kind}).",
                expected=f"{secret}: <path of a file holding the "
                + {
                    "pagerduty": "Events API v2 routing key",
                    "slack": "incoming-webhook URL",
                    "email": "SMTP password",
                }[kind]
                + ">",
                observed=f"no {secret}",
            )
        )
    return Receiver(name=name, kind=kind, settings={k: v for k, v in spec.items() if k != "type"})


def routing_from_mapping(data: Mapping[str, Any], *, source: str) -> RoutingSpec:
    """Validate a parsed routing file."""
    known = {"routes", "receivers", "group_by", "group_wait", "group_interval", "repeat_interval"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{source}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}."
        )
    routes = data.get("routes") or {}
    receivers = data.get("receivers") or {}
    if not isinstance(routes, dict) or not isinstance(receivers, dict):
        raise ConfigError(f"{source}: 'routes' and 'receivers' must be mappings.")
    group_by = data.get("group_by", ["alertname", "job"])
    if not isinstance(group_by, list) or not all(isinstance(g, str) for g in group_by):
        raise ConfigError(f"{source}: group_by must be a list of label names.")
    return RoutingSpec(
        routes={str(k): str(v) for k, v in routes.items()},
        receivers={
            str(name): _receiver(str(name), spec, source) for name, spec in receivers.items()
        },
        group_by=tuple(group_by),
        group_wait=str(data.get("group_wait", "30s")),
        group_interval=str(data.get("group_interval", "5m")),
        repeat_interval=str(data.get("repeat_interval", "4h")),
        source=source,
    )


def load_routing(path: str | Path | None) -> RoutingSpec:
    """Load the routing file at ``path``; ``None`` gives the packaged default routing."""
    if path is None:
        return routing_from_mapping(DEFAULT_ROUTING, source="<default routing>")
    p = Path(path)
    data = load_yaml(read_text_file(p, what="routing file"), source=str(p))
    if not isinstance(data, dict):
        raise ConfigError(
            f"{p}: the routing file must be a YAML mapping with 'routes' and 'receivers'."
        )
    return routing_from_mapping(data, source=str(p))


def _integration(receiver: Receiver) -> tuple[str, dict[str, Any]]:
    settings = dict(receiver.settings)
    if receiver.kind == "pagerduty":
        config: dict[str, Any] = {
            "routing_key_file": settings["routing_key_file"],
            "url": settings.get("url", PAGERDUTY_EVENTS_V2),
            "severity": '{{ if eq .CommonLabels.severity "critical" }}critical{{ else }}warning{{ end }}',
            "description": "{{ .CommonAnnotations.summary }}",
            "send_resolved": True,
        }
        for key in ("client", "client_url"):
            if key in settings:
                config[key] = settings[key]
        return "pagerduty_configs", config
    if receiver.kind == "slack":
        config = {
            "api_url_file": settings["api_url_file"],
            "channel": settings["channel"],
            "title": "[{{ .Status | toUpper }}] {{ .CommonLabels.severity }}: "
            "{{ .CommonAnnotations.summary }}",
            "text": "{{ range .Alerts }}{{ .Annotations.description }}\n"
            "runbook: {{ .Annotations.runbook_url }}\n{{ end }}",
            "send_resolved": True,
        }
        if "username" in settings:
            config["username"] = settings["username"]
        return "slack_configs", config
    config = {
        "to": settings["to"],
        "from": settings["from"],
        "smarthost": settings["smarthost"],
        "require_tls": bool(settings.get("require_tls", True)),
        "headers": {
            "Subject": "[{{ .Status | toUpper }}] {{ .CommonLabels.severity }}: "
            "{{ .CommonLabels.alertname }} ({{ .CommonLabels.job }})",
        },
        "send_resolved": True,
    }
    for key in ("hello", "auth_username", "auth_password_file", "auth_identity"):
        if key in settings:
            config[key] = settings[key]
    return "email_configs", config


def alertmanager_config(spec: RoutingSpec) -> dict[str, Any]:
    """The Alertmanager 0.25 configuration for ``spec`` as a mapping."""
    routes = [
        {"matchers": [f'severity="{level}"'], "receiver": spec.routes[level], "continue": False}
        for level in SEVERITIES
    ]
    receivers = []
    for name in sorted(spec.receivers):
        key, integration = _integration(spec.receivers[name])
        receivers.append({"name": name, key: [integration]})
    return {
        "route": {
            "receiver": spec.routes["info"],
            "group_by": list(spec.group_by),
            "group_wait": spec.group_wait,
            "group_interval": spec.group_interval,
            "repeat_interval": spec.repeat_interval,
            "routes": routes,
        },
        "inhibit_rules": [
            {
                "source_matchers": ['severity="critical"'],
                "target_matchers": ['severity="warning"'],
                "equal": ["alertname", "job", "instance", "mountpoint"],
            },
            {
                "source_matchers": ['severity="critical"', 'slo=~".+"'],
                "target_matchers": ['severity="warning"', 'slo=~".+"'],
                "equal": ["slo", "job"],
            },
        ],
        "receivers": receivers,
    }


HEADER = (
    "# Generated by hypersync-slo render from the SLO file and the routing file; do not edit.\n"
    "# Secrets are file references only (*_file); see docs/alerting.md.\n"
)


def render_alertmanager(spec: RoutingSpec) -> str:
    """The Alertmanager configuration as YAML text, byte-stable for the same spec."""
    return dump_yaml(alertmanager_config(spec), HEADER)
