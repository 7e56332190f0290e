"""The SRE workbook's multi-window, multi-burn-rate pairs and the SLO period they assume.

The generated burn-rate alerts (``alerting.rules``), their promtool tests and the audit's
burn rates (``audit.budget``) take their windows and factors from here. Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BurnWindow:
    """One multi-window pair of the SRE workbook: both windows must burn faster than ``factor``."""

    severity: str
    long: str
    short: str
    factor: float


#: The SRE workbook's recommended pairs for a 30-day period (Sloth's google-30d windows).
BURN_WINDOWS: tuple[BurnWindow, ...] = (
    BurnWindow("critical", "1h", "5m", 14.4),
    BurnWindow("critical", "6h", "30m", 6.0),
    BurnWindow("warning", "1d", "2h", 3.0),
    BurnWindow("warning", "3d", "6h", 1.0),
)
#: Every window of the pairs, shortest first: the SLI recording rules' windows.
SLI_WINDOWS: tuple[str, ...] = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
#: The SLO period the budgets are stated over (``slo:time_period:days``) and the factors assume.
SLO_PERIOD_DAYS = 30
