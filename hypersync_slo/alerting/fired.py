"""Which alerts fired during a window, read back from Prometheus's ``ALERTS`` series.

The demo and the reporter load the generated rules into the run's Prometheus and list, per alert
and severity, when it first and last fired inside the run's window. Source: prometheus
(``ALERTS{alertstate="firing"}``, sampled at ``step``), so an alert that fired for less than one
step can be missed; the step is stated with the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from hypersync_slo.errors import PrometheusUnavailable, explain


@dataclass(frozen=True)
class FiredAlert:
    """One alert (name + labels) that was firing at some point of the window."""

    alertname: str
    severity: str
    labels: Mapping[str, str]
    first_seen: float
    last_seen: float
    samples: int

    def describe(self) -> str:
        """``HypersyncHighErrorRate (critical) job=hypersync: 12 samples``."""
        extra = " ".join(
            f"{k}={v}"
            for k, v in sorted(self.labels.items())
            if k not in ("alertname", "alertstate", "severity", "__name__")
        )
        return f"{self.alertname} ({self.severity}) {extra}: {self.samples} samples".replace(
            "  ", " "
        )


def fired_alerts(
    prometheus_url: str,
    start: float,
    end: float,
    *,
    step: float = 1.0,
    selector: str = "",
    client: httpx.Client | None = None,
) -> list[FiredAlert]:
    """Alerts firing at any sampled instant of ``[start, end]`` (Unix seconds), sorted by first firing."""
    query = f'ALERTS{{alertstate="firing"{"," + selector if selector else ""}}}'
    params: dict[str, str | float] = {"query": query, "start": start, "end": end, "step": step}
    own = client is None
    http = client or httpx.Client(timeout=10)
    try:
        response = http.get(f"{prometheus_url.rstrip('/')}/api/v1/query_range", params=params)
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise PrometheusUnavailable(
            explain(
                "Prometheus could not be asked which alerts fired.",
                prometheus=prometheus_url,
                query=query,
                error=exc,
            )
        ) from exc
    finally:
        if own:
            http.close()
    if data.get("status") != "success":
        raise PrometheusUnavailable(
            explain(
                "Prometheus refused the ALERTS query.",
                prometheus=prometheus_url,
                query=query,
                error=data.get("error", f"HTTP {response.status_code}"),
            )
        )
    fired = []
    for series in data["data"]["result"]:
        labels = dict(series["metric"])
        stamps = [float(t) for t, _ in series["values"]]
        if not stamps:
            continue
        fired.append(
            FiredAlert(
                alertname=labels.get("alertname", "?"),
                severity=labels.get("severity", "none"),
                labels=labels,
                first_seen=min(stamps),
                last_seen=max(stamps),
                samples=len(stamps),
            )
        )
    return sorted(fired, key=lambda a: (a.first_seen, a.alertname, a.severity))
