"""OpenSLO v1 as an alternative SLO file, mapped onto the same ``Objective`` model.

Foundation layer: ``SloConfig.load`` / ``SloConfig.from_text`` hand OpenSLO text here, so every
command and the gate read both forms through the one loader.

Read: ``SLO`` documents (with an inline ``indicator`` or an ``indicatorRef`` to an ``SLI``
document) whose SLI is a ``ratioMetric`` or ``thresholdMetric`` with a Prometheus
``metricSource``. Each SLO objective becomes one KPI objective:

* an explicit annotation ``hypersync-slo/kpi: <KPI>`` on the SLO or SLI names the KPI;
* otherwise it is inferred from the query:
  ``thresholdMetric`` with ``histogram_quantile(Q, ...)`` -> ``latency_pQ`` (``op``/``value``);
  ``thresholdMetric`` with ``rate(..._count...)`` -> ``throughput_rps``;
  ``ratioMetric`` over ``up``/``probe_success`` -> ``availability >= target``;
  ``ratioMetric`` whose good query selects ``_bucket{le="X"}`` -> ``latency_pQ <= X`` with
  Q = target (the fraction-under-threshold form, exact at a bucket);
  ``ratioMetric`` with ``bad`` -> ``error_rate < 1 - target``; with ``good`` ->
  ``success_rate >= target``.

Anything else is refused with a ``ConfigError`` saying what can be expressed. KPIs the file does
not name are reported but do not gate (``report_only``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from hypersync_slo.config import (
    KPI_UNITS,
    QUANTILES,
    Comparator,
    Objective,
    SloConfig,
    min_samples_for,
)
from hypersync_slo.errors import ConfigError
from hypersync_slo.yamlfiles import load_yaml

ANNOTATION = "hypersync-slo/kpi"
_OPS: dict[str, Comparator] = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}
_QUANTILE = re.compile(r"histogram_quantile\s*\(\s*([0-9.]+)")
_LE = re.compile(r'le\s*=\s*"([^"]+)"')


def read_openslo(text: str, *, source: str, base: SloConfig | None = None) -> SloConfig:
    """Build an ``SloConfig`` from OpenSLO v1 YAML (alerts and metric catalogue from ``base``)."""
    base = base or SloConfig.default()
    documents = [d for d in load_yaml(text, source=source, every=True) if d is not None]
    slis: dict[str, Mapping[str, Any]] = {}
    slos: list[Mapping[str, Any]] = []
    for number, doc in enumerate(documents, 1):
        if not isinstance(doc, Mapping) or not str(doc.get("apiVersion", "")).startswith(
            "openslo/v1"
        ):
            raise ConfigError(
                f"{source}: document {number} is not an OpenSLO v1 document "
                "(apiVersion: openslo/v1)."
            )
        kind = doc.get("kind")
        if kind == "SLI":
            slis[_name(doc, source, number)] = doc
        elif kind == "SLO":
            slos.append(doc)
    if not slos:
        raise ConfigError(f"{source}: no OpenSLO 'SLO' document found.")
    objectives: dict[str, Objective] = {}
    for doc in slos:
        name = _name(doc, source, 0)
        where = f"{source}: SLO {name}"
        spec = _map(doc.get("spec"), where, "spec")
        sli = _indicator(spec, slis, where)
        annotation = _annotation(doc) or _annotation(sli)
        sli_spec = _map(sli.get("spec"), where, "indicator spec")
        for item in spec.get("objectives") or []:
            objective = _objective(
                _map(item, where, "objectives[]"), sli_spec, annotation, where, base
            )
            if objective.kpi in objectives:
                raise ConfigError(f"{where}: {objective.kpi} is given by two objectives.")
            objectives[objective.kpi] = objective
    if not objectives:
        raise ConfigError(f"{source}: the SLO documents have no objectives.")
    for kpi, unit in KPI_UNITS.items():
        objectives.setdefault(
            kpi, Objective(kpi=kpi, comparator=None, value=None, unit=unit, report_only=True)
        )
    service = str(_map(slos[0].get("spec"), source, "spec").get("service") or base.service)
    return dataclasses.replace(base, source=source, service=service, objectives=objectives)


def _name(doc: Mapping[str, Any], source: str, number: int) -> str:
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping) or not meta.get("name"):
        raise ConfigError(
            f"{source}: document {number or ''} needs metadata.name.".replace("  ", " ")
        )
    return str(meta["name"])


def _map(value: Any, where: str, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: '{what}' must be a mapping.")
    return value


def _annotation(doc: Mapping[str, Any]) -> str | None:
    meta = doc.get("metadata") or {}
    for key in ("annotations", "labels"):
        found = (meta.get(key) or {}).get(ANNOTATION) if isinstance(meta, Mapping) else None
        if found:
            return str(found)
    return None


def _indicator(
    spec: Mapping[str, Any], slis: Mapping[str, Mapping[str, Any]], where: str
) -> Mapping[str, Any]:
    if "indicator" in spec:
        return _map(spec["indicator"], where, "indicator")
    ref = spec.get("indicatorRef")
    if ref is None:
        raise ConfigError(f"{where}: give 'indicator' or 'indicatorRef'.")
    if str(ref) not in slis:
        known = ", ".join(sorted(slis)) or "none"
        raise ConfigError(f"{where}: indicatorRef {ref!r} names no SLI document; SLIs: {known}.")
    return slis[str(ref)]


def _query(metric: Any, where: str) -> str:
    """The PromQL of an OpenSLO metric (``metricSource``), refusing other sources."""
    source = _map(_map(metric, where, "metric").get("metricSource"), where, "metricSource")
    kind = str(source.get("type", ""))
    if kind.lower() != "prometheus":
        raise ConfigError(
            f"{where}: metricSource type {kind!r} is not supported; only Prometheus is."
        )
    spec = source.get("spec") or {}
    query = spec.get("query") if isinstance(spec, Mapping) else spec
    if not isinstance(query, str) or not query.strip():
        raise ConfigError(f"{where}: metricSource.spec.query must hold the PromQL query.")
    return query


def _target(item: Mapping[str, Any], where: str) -> float:
    if "target" in item:
        target = float(item["target"])
    elif "targetPercent" in item:
        target = float(item["targetPercent"]) / 100.0
    else:
        raise ConfigError(f"{where}: a ratio objective needs 'target' or 'targetPercent'.")
    if not 0.0 <= target < 1.0:
        raise ConfigError(f"{where}: target must lie in [0, 1) (targetPercent in [0, 100)).")
    return target


def _make(kpi: str, comparator: Comparator, value: float, where: str, base: SloConfig) -> Objective:
    if kpi not in KPI_UNITS:
        raise ConfigError(f"{where}: unknown KPI {kpi!r}; known KPIs are {', '.join(KPI_UNITS)}.")
    try:
        return Objective(
            kpi=kpi,
            comparator=comparator,
            value=value,
            unit=KPI_UNITS[kpi],
            min_samples=min_samples_for(QUANTILES.get(kpi), base.min_tail_samples),
        )
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _latency_kpi(quantile: float, where: str) -> str:
    for kpi, q in QUANTILES.items():
        if abs(q - quantile) < 1e-9:
            return kpi
    known = ", ".join(f"{q:g}" for q in QUANTILES.values())
    raise ConfigError(f"{where}: quantile {quantile:g} is not a KPI; use one of {known}.")


def _objective(
    item: Mapping[str, Any],
    sli: Mapping[str, Any],
    annotation: str | None,
    where: str,
    base: SloConfig,
) -> Objective:
    if "thresholdMetric" in sli:
        return _threshold_objective(item, sli, annotation, where, base)
    if "ratioMetric" in sli:
        return _ratio_objective(item, sli, annotation, where, base)
    raise ConfigError(f"{where}: the SLI has neither ratioMetric nor thresholdMetric.")


def _threshold_objective(
    item: Mapping[str, Any],
    sli: Mapping[str, Any],
    annotation: str | None,
    where: str,
    base: SloConfig,
) -> Objective:
    """A latency or throughput objective: ``op`` and ``value`` over a ``thresholdMetric``."""
    query = _query(sli["thresholdMetric"], where)
    op = str(item.get("op", ""))
    if op not in _OPS or "value" not in item:
        raise ConfigError(
            f"{where}: a thresholdMetric objective needs op (lt|lte|gt|gte) and value."
        )
    value = float(item["value"])
    kpi = annotation
    if kpi is None:
        found = _QUANTILE.search(query)
        if found:
            kpi = _latency_kpi(float(found.group(1)), where)
        elif "rate(" in query and "_count" in query:
            kpi = "throughput_rps"
        else:
            raise ConfigError(
                f"{where}: cannot tell which KPI {query!r} measures; use histogram_quantile "
                f"(latency) or rate(..._count) (throughput), or annotate '{ANNOTATION}'."
            )
    return _make(kpi, _OPS[op], value, where, base)


def _ratio_objective(
    item: Mapping[str, Any],
    sli: Mapping[str, Any],
    annotation: str | None,
    where: str,
    base: SloConfig,
) -> Objective:
    """Availability, error or success rate, or a latency share: a target over a ``ratioMetric``."""
    ratio = _map(sli["ratioMetric"], where, "ratioMetric")
    target = _target(item, where)
    good = _query(ratio["good"], where) if "good" in ratio else None
    bad = _query(ratio["bad"], where) if "bad" in ratio else None
    if "total" in ratio:
        _query(ratio["total"], where)
    if good is None and bad is None:
        raise ConfigError(f"{where}: ratioMetric needs 'good' or 'bad' with 'total'.")
    text = good or bad or ""
    kpi = annotation
    if kpi is None:
        le = _LE.search(good or "")
        if re.search(r"\b(up|probe_success)\b", text):
            kpi = "availability"
        elif le and good:
            latency = _latency_kpi(target, where)
            return _make(latency, "<=", float(le.group(1)), where, base)
        elif bad:
            kpi = "error_rate"
        else:
            kpi = "success_rate"
    if kpi == "error_rate":
        return _make(kpi, "<", round(1.0 - target, 12), where, base)
    return _make(kpi, ">=", target, where, base)
