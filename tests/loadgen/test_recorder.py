"""The per-process recorder: corrected vs uncorrected latency, late and dropped sends, windows."""

from __future__ import annotations

from hypersync_slo.loadgen.histogram import LatencyHistogram
from hypersync_slo.loadgen.recorder import Recorder
from hypersync_slo.loadgen.schedule import Schedule


def simulate_stall(connections: int = 1) -> Recorder:
    """100 req/s for 10 s to a 1 ms server that stalls 1 s every 5 s, over few connections."""
    recorder = Recorder(origin=0.0)
    free = [0.0] * connections
    for intended in Schedule(rate=100, duration=10).offsets():
        slot = min(range(connections), key=lambda i: free[i])
        recorder.started(intended, intended)
        sent = max(intended, free[slot])  # waits for a connection: client-side queueing
        phase = sent % 5.0
        stall_left = 5.0 - phase if phase >= 4.0 else 0.0  # stalled during [4 s, 5 s) of 5
        ended = sent + stall_left + 0.001
        free[slot] = ended
        recorder.finished("GET /x", intended=intended, sent=sent, ended=ended, cause=None)
    return recorder


def test_synthetic_stall_shows_in_corrected_not_uncorrected() -> None:
    """A 1 s stall every 5 s: corrected p95 is hundreds of ms, uncorrected p99 stays ~1 ms."""
    recorder = simulate_stall()
    tally = recorder.tallies["GET /x"]
    corrected = tally.corrected.summary()
    uncorrected = tally.uncorrected.summary()
    assert corrected["samples"] == uncorrected["samples"] == 1000
    assert corrected["p95"] is not None
    assert corrected["p95"] > 0.5
    assert corrected["p99"] is not None
    assert corrected["p99"] > 0.9
    assert uncorrected["p99"] is not None
    assert uncorrected["p99"] < 0.01
    assert uncorrected["max"] is not None
    assert uncorrected["max"] > 0.9


def test_late_sends_are_counted_beyond_tolerance() -> None:
    """A send starting more than the tolerance after its intended time counts as late."""
    recorder = Recorder(origin=100.0, late_tolerance=0.01)
    assert not recorder.started(100.0, 100.005)
    assert recorder.started(100.1, 100.2)
    assert (recorder.sent, recorder.late) == (2, 1)
    assert recorder.sends_per_second == [2]


def test_errors_business_and_drops_are_tallied() -> None:
    """Errors by cause, business operations of successes only, and drops are kept apart."""
    recorder = Recorder(origin=0.0)
    for i in range(3):
        recorder.started(i * 0.1, i * 0.1)
    recorder.finished(
        "POST /a",
        intended=0.0,
        sent=0.0,
        ended=0.01,
        cause=None,
        business=("policy_evaluations", "allow"),
    )
    recorder.finished(
        "POST /a",
        intended=0.1,
        sent=0.1,
        ended=0.2,
        cause="http_503",
        business=("policy_evaluations", "deny"),
    )
    recorder.finished("POST /a", intended=0.2, sent=0.2, ended=0.3, cause="connection_reset")
    recorder.dropped_send("POST /a")
    part = recorder.part(now=1.0, final=True)
    assert part["requests"] == 3
    assert part["errors"] == 2
    assert part["dropped"] == 1
    assert part["business"] == {"policy_evaluations": {"allow": 1}}
    assert part["by_request"]["POST /a"]["errors_by_cause"] == {
        "http_503": 1,
        "connection_reset": 1,
    }
    assert LatencyHistogram.decode(part["corrected_total"]).count == 3


def test_sliding_window_keeps_only_recent_seconds() -> None:
    """The window holds completions of the last 10 s only."""
    recorder = Recorder(origin=0.0, window_seconds=10)
    for second in range(30):
        recorder.started(second, second)
        recorder.finished(
            "GET /x",
            intended=second,
            sent=second,
            ended=second + 0.5,
            cause="timeout" if second >= 25 else None,
        )
    window = recorder.window(29.9)
    assert window["requests"] == 10
    assert window["errors"] == 5
    assert LatencyHistogram.decode(window["corrected"]).count == 10
