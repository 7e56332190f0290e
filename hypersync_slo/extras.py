"""Optional parts of the install: which extra brings which module, and the sentence when one is missing.

``pip install hypersync-slo`` (or a wheel, or ``.`` from a checkout) gives the contract gate,
``lint-metrics``, ``report``, ``audit``, ``history`` and ``render``: nothing in it changes the
options of an application's own pytest runs. The load driver and the reference service are
extras, so the gate can live in an application's test environment without Locust (whose
pytest plugin adds ``-H/--host`` to every pytest run) or uvicorn:

    hypersync-slo[load]        Locust and HdrHistogram: ``load``, and the load stage of ``run``
    hypersync-slo[reference]   uvicorn and OpenTelemetry: ``serve-reference``
    hypersync-slo[all]         both: ``demo``
"""

from __future__ import annotations

import importlib.util

from hypersync_slo.errors import MissingTool, explain

#: extra -> the modules it provides (checked with ``find_spec``, nothing is imported).
EXTRAS: dict[str, tuple[str, ...]] = {
    "load": ("locust", "hdrh"),
    "reference": ("uvicorn", "opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"),
}
#: top-level module name -> the extra that installs it.
MODULE_EXTRA: dict[str, str] = {
    "locust": "load",
    "gevent": "load",
    "geventhttpclient": "load",
    "hdrh": "load",
    "uvicorn": "reference",
    "uvloop": "reference",
    "httptools": "reference",
    "opentelemetry": "reference",
}


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def missing(*extras: str) -> list[str]:
    """The extras among ``extras`` that are not (wholly) installed."""
    return [extra for extra in extras if not all(_present(m) for m in EXTRAS[extra])]


def missing_extra(extras: list[str], command: str) -> MissingTool:
    """The error for ``command`` when ``extras`` are not installed (exit 8)."""
    spec = ",".join(extras)
    return MissingTool(
        explain(
            f"'{command}' needs the optional part{'s' if len(extras) > 1 else ''} "
            f"{', '.join(extras)} of hypersync-slo, which {'are' if len(extras) > 1 else 'is'} "
            "not installed.",
            install=f"pip install 'hypersync-slo[{spec}]' (from a checkout: pip install "
            f"'.[{spec}]'; from a wheel: pip install 'hypersync_slo-<version>-py3-none-any.whl"
            f"[{spec}]')",
            why="the gate and the reporter install without them, so that they never change "
            "an application's own pytest runs",
        )
    )


def require(*extras: str, command: str) -> None:
    """Refuse ``command`` (exit 8, with the install line) unless ``extras`` are installed."""
    absent = missing(*extras)
    if absent:
        raise missing_extra(absent, command)


def explain_import_error(exc: ModuleNotFoundError, command: str) -> MissingTool | None:
    """The missing-extra error for a failed import of an optional module, else None."""
    top = (exc.name or "").partition(".")[0]
    extra = MODULE_EXTRA.get(top)
    return missing_extra([extra], command) if extra else None
