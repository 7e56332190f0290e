"""The open-model driver: runs INSIDE the Locust process (imports locust and gevent).

Use it as a locustfile (``locust -f hypersync_slo/loadgen/driver.py OpenModelUser
--open-rps 1000 ...``) or import it from one (``load/locustfile.py`` does). One
``OpenModelUser`` per load process runs the whole schedule of that process:

* a scheduler greenlet walks the seeded arrival plan (``schedule.Schedule``) and at each
  intended time sends the next request of the traffic mix, never waiting for earlier responses
  (open model: the arrival rate does not depend on the target);
* for ``http://`` targets it sends through ``sender.Sender``: ``--open-connections`` keep-alive
  sockets in one epoll set, a request written with one ``send``, the responses read every few
  milliseconds after a send, several at once, each timed by the kernel's receive timestamp, so
  the process wakes once per send, not once per send and once per response, and no greenlet is
  spawned per request;
  for ``https://`` a greenlet per request sends through geventhttpclient. Either way a request
  waits for a free connection when all are busy (client-side queueing) and its latency is
  recorded from the *intended* time (corrected) and from the moment it went onto a connection
  (uncorrected), with its error cause and its business operation;
* a reporter greenlet publishes the process's part every second (a file for the local runner,
  a Locust custom message to the master for a worker); the master writes the workers' parts
  and quits the run once every worker has sent its final part.

Sends more than ``--open-late-tolerance`` after their intended time are *late* (the generator's
own delay); when more than ``--open-max-pending`` requests are in the client at once the next
send is *dropped* (counted, never sent) so memory stays bounded while a target stalls.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import resource
import socket
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import gevent
from gevent.monkey import get_original
from gevent.queue import Queue
from geventhttpclient import HTTPClient
from geventhttpclient.response import HTTPConnectionClosed
from locust import User, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from hypersync_slo.config import SloConfig
from hypersync_slo.loadgen.parts import write_part
from hypersync_slo.loadgen.recorder import Recorder
from hypersync_slo.loadgen.schedule import ARRIVAL_KINDS, Schedule
from hypersync_slo.loadgen.sender import Sender
from hypersync_slo.loadgen.tracetags import TraceTagger
from hypersync_slo.traffic import (
    PlannedRequest,
    TrafficSource,
    make_model,
    status_cause,
)

PART_MESSAGE = "hypersync_slo_part"
REPORT_INTERVAL = 1.0
#: Every how many parts the per-request histograms are sent (always in the final one).
DETAIL_EVERY = 5
#: Longest kernel sleep of the lean scheduler before it lets the other greenlets run.
KERNEL_SLEEP_MAX = 0.005
#: How often the lean scheduler lets gevent's other greenlets run while it sends (Locust's
#: heartbeats and messages, the reporter: none needs them sooner; each switch to the hub costs
#: tens of µs of CPU here, 200 a second were ~5 % of the driver's Python time).
YIELD_EVERY = 0.020
#: How often the lean scheduler reads the answers that arrived (they carry the kernel's receive
#: time, so reading later changes no latency): a few answers per read instead of one per wake,
#: handled while the code is warm in the CPU's caches. A send that finds no free connection
#: reads at once.
READ_EVERY = 0.005
PR_SET_TIMERSLACK = 29
log = logging.getLogger("hypersync_slo.loadgen.driver")


def add_options(parser: Any) -> None:
    """The open-model options (``--open-*``); a plain Locust run ignores them."""
    parser.add_argument(
        "--open-rps",
        type=float,
        default=0.0,
        help="open model: total target requests/s over all load processes",
    )
    parser.add_argument(
        "--open-duration", type=float, default=60.0, help="open model: seconds of arrivals"
    )
    parser.add_argument(
        "--open-arrival",
        choices=ARRIVAL_KINDS,
        default="uniform",
        help="open model: evenly spaced or Poisson arrivals",
    )
    parser.add_argument("--open-seed", type=int, default=0, help="open model: schedule/mix seed")
    parser.add_argument(
        "--open-workers",
        type=int,
        default=1,
        help="open model: number of load processes sharing the rate",
    )
    parser.add_argument(
        "--open-out", default="", help="open model: directory for the per-process part files"
    )
    parser.add_argument(
        "--open-connections",
        type=int,
        default=100,
        help="open model: keep-alive connections per load process",
    )
    parser.add_argument(
        "--open-timeout",
        type=float,
        default=10.0,
        help="open model: connect and network timeout per request (s)",
    )
    parser.add_argument(
        "--open-late-tolerance",
        type=float,
        default=0.010,
        help="open model: a send this much after its intended time is late (s)",
    )
    parser.add_argument(
        "--open-slo-config",
        default="",
        help="open model: SLO file whose traffic: section is the mix (default: the packaged one)",
    )
    parser.add_argument(
        "--open-traffic", default="", help="open model: a traffic file replacing the SLO file's"
    )
    parser.add_argument(
        "--open-traffic-class",
        default="",
        help="open model: module:Class generating the traffic instead of the declaration",
    )
    parser.add_argument(
        "--open-auth-env",
        default="",
        help="open model: environment variable holding the token (overrides traffic.auth's)",
    )
    parser.add_argument(
        "--open-max-pending",
        type=int,
        default=0,
        help="open model: requests in the client before sends are dropped "
        "(0: rate x timeout, at least 100)",
    )
    parser.add_argument(
        "--open-locust-stats",
        action="store_true",
        default=False,
        help="open model: also feed Locust's own request statistics, one event per request "
        "(its console/web tables; costs generator CPU per request; the run's figures are "
        "load-result.json's either way)",
    )
    parser.add_argument(
        "--open-trace-sample",
        type=float,
        default=0.0,
        help="open model: share of requests tagged with a known sampled traceparent "
        "(written to traces-N.jsonl beside the parts)",
    )


def classify(exc: BaseException) -> str:
    """The error cause of a failed request: refused, reset, timeout, or the exception's name."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection_refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | HTTPConnectionClosed):
        return "connection_reset"
    if isinstance(exc, TimeoutError | socket.timeout | gevent.Timeout):
        return "timeout"
    if isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED:
        return "connection_refused"
    if isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return "connection_reset"
    return f"error_{type(exc).__name__}"


def traffic_model(opts: Any, seed: str) -> TrafficSource:
    """The declared traffic of ``--open-slo-config``/``--open-traffic`` (or the class), seeded.

    The auth token is read here, in the load process, from the variable the declaration names.
    """
    config = SloConfig.load(getattr(opts, "open_slo_config", "") or None)
    config = config.with_traffic(
        getattr(opts, "open_traffic", "") or None,
        auth_env=getattr(opts, "open_auth_env", "") or None,
    )
    return make_model(
        config.traffic,
        seed,
        environ=os.environ,
        traffic_class=getattr(opts, "open_traffic_class", "") or None,
    )


def _tight_timer_slack() -> None:
    """Ask Linux to end this thread's sleeps on time: timer slack 1 ns instead of 50 µs.

    The slack lets the kernel wake a sleep up to 50 µs late to batch wake-ups; every send of
    the lean scheduler would inherit that lateness in its corrected latency.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0)
    except (OSError, AttributeError):
        log.debug("could not set the timer slack", exc_info=True)


def _rss_bytes() -> int:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * resource.getpagesize()


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True, slots=True)
class _Tagged:
    """A request sent with a known sampled traceparent (``--open-trace-sample``)."""

    request: PlannedRequest
    headers: Mapping[str, str]
    trace: tuple[str, str]

    @property
    def method(self) -> str:
        """The request's method."""
        return self.request.method

    @property
    def path(self) -> str:
        """The request's path."""
        return self.request.path

    @property
    def body(self) -> bytes | None:
        """The request's body."""
        return self.request.body


class OpenModelRun:
    """One load process's share of an open-model run."""

    current: ClassVar[OpenModelRun | None] = None

    def __init__(self, environment: Environment) -> None:
        opts: Any = environment.parsed_options
        self.environment = environment
        runner = environment.runner
        self.index = int(runner.worker_index) if isinstance(runner, WorkerRunner) else 0
        self.streams = max(1, int(opts.open_workers))
        self.schedule = Schedule(
            rate=float(opts.open_rps),
            duration=float(opts.open_duration),
            kind=opts.open_arrival,
            seed=int(opts.open_seed),
            stream=self.index,
            streams=self.streams,
        )
        self.out = Path(opts.open_out) if opts.open_out else None
        self.timeout = float(opts.open_timeout)
        self.connections = max(1, int(opts.open_connections))
        self.max_pending = int(opts.open_max_pending) or max(
            100, min(20_000, int(self.schedule.stream_rate * self.timeout))
        )
        parts = urlsplit(environment.host or "")
        if not parts.hostname:
            raise ValueError("the open model needs --host http://HOST:PORT")
        self.pool: Queue[HTTPClient] = Queue()
        for _ in range(self.connections):
            self.pool.put(
                HTTPClient(
                    parts.hostname,
                    parts.port or (443 if parts.scheme == "https" else 80),
                    connection_timeout=self.timeout,
                    network_timeout=self.timeout,
                    concurrency=1,
                    ssl=parts.scheme == "https",
                    insecure=True,
                )
            )
        self.model = traffic_model(opts, f"{opts.open_seed}:{self.index}")
        self.late_tolerance = float(opts.open_late_tolerance)
        self.locust_stats = bool(getattr(opts, "open_locust_stats", False))
        self.tagger = TraceTagger(
            float(getattr(opts, "open_trace_sample", 0.0) or 0.0), f"{opts.open_seed}:{self.index}"
        )
        self.origin = time.perf_counter()
        self.origin_wall = time.time()
        self.recorder = Recorder(origin=self.origin, late_tolerance=self.late_tolerance)
        self.pending = 0
        self.sender: Sender | None = None
        self._writing: Any = None
        self.due = 0
        self.finished = False
        self.stopping = False
        self.published_final = False
        self.cpu_start = _cpu_seconds()
        self.rss_start = _rss_bytes()

    def run(self) -> None:
        """Send the whole schedule, drain in-flight requests, publish the final part."""
        OpenModelRun.current = self
        sender = self._lean_sender()
        if sender is None:
            self._warm_up()
        else:
            sender.warm_up()
        perf = time.perf_counter
        self.origin = perf()
        self.origin_wall = time.time()
        self.recorder = Recorder(origin=self.origin, late_tolerance=self.late_tolerance)
        self.cpu_start = _cpu_seconds()
        reporter = gevent.spawn(self._report_loop)
        if sender is None:
            self._run_greenlets()
        else:
            self._run_lean(sender)
        self.finished = True
        reporter.kill(block=False)
        self.publish(final=True)
        if sender is not None:
            sender.close()

    def _run_greenlets(self) -> None:
        """The schedule through a greenlet per request (geventhttpclient; ``https://``)."""
        perf = time.perf_counter
        origin = self.origin
        spawn = gevent.spawn
        for offset in self.schedule.offsets():
            intended = origin + offset
            delay = intended - perf()
            if delay > 0:
                gevent.sleep(delay)
            elif self.due % 32 == 0:
                gevent.sleep(0)  # behind schedule: still let responses be handled
            if self.stopping:
                break
            self.due += 1
            request = self.model.next()
            if self.pending >= self.max_pending:
                self.recorder.dropped_send(request.name)
                continue
            self.pending += 1
            spawn(self._send, request, intended)
        deadline = perf() + self.timeout + 2.0
        while self.pending and perf() < deadline and not self.stopping:
            gevent.sleep(0.02)

    def _run_lean(self, sender: Sender) -> None:
        """The schedule through the lean sender: one kernel sleep per send, nothing per response.

        The next request is planned before its time, so that on waking the scheduler only
        sends; the housekeeping (Locust's other greenlets every ``YIELD_EVERY``, reading the
        answers that arrived, which the kernel has timestamped, every ``READ_EVERY``) comes
        after the send, not before it.
        """
        perf = time.perf_counter
        origin = self.origin
        started = self.recorder.started
        submit = sender.submit
        poll = sender.poll
        tagger = self.tagger
        wait = self._waiter(sender)
        yield_to_gevent = gevent.sleep
        _tight_timer_slack()
        next_yield = next_read = 0.0
        request = self.model.next()
        for offset in self.schedule.offsets():
            intended = origin + offset
            delay = intended - perf()
            while delay > 0:
                wait(delay)
                delay = intended - perf()
            if self.stopping:
                break
            self.due += 1
            if sender.pending >= self.max_pending:
                self.recorder.dropped_send(request.name)
            else:
                started(intended, perf())
                tagged = tagger.tag(request.headers) if tagger.share else None
                submit(
                    request if tagged is None else _Tagged(request, tagged[0], tagged[1]),
                    intended,
                )
            now = perf()
            if now >= next_yield:  # Locust's greenlets: reporter, heartbeats, messages
                yield_to_gevent(0)
                next_yield = now + YIELD_EVERY
            if now >= next_read or not sender.timestamps:  # without kernel stamps, read now
                poll()
                next_read = now + READ_EVERY
            request = self.model.next()
        deadline = perf() + self.timeout + 2.0
        while sender.pending and perf() < deadline and not self.stopping:
            wait(KERNEL_SLEEP_MAX)
            yield_to_gevent(0)
            poll()

    def _lean_sender(self) -> Sender | None:
        """The lean sender for an ``http://`` target (None: greenlets and geventhttpclient)."""
        parts = urlsplit(self.environment.host or "")
        if parts.scheme != "http" or not parts.hostname:
            return None
        self.sender = Sender(
            parts.hostname,
            parts.port or 80,
            connections=self.connections,
            timeout=self.timeout,
            on_done=self._done,
            epoll=get_original("select", "epoll"),
        )
        return self.sender

    def _waiter(self, sender: Sender) -> Any:
        """``wait(seconds)``: sleep in the kernel until then, at most ``KERNEL_SLEEP_MAX``.

        The sender's responses carry kernel receive timestamps, so the scheduler need not wake
        for them: it sleeps until the next send, in the kernel directly (``time.sleep`` or
        ``select`` as they were before gevent patched them: a gevent sleep costs about twice
        the CPU of a kernel one here, and wakes later). A longer wait is cut into
        ``KERNEL_SLEEP_MAX`` slices with gevent's other greenlets run and the answers read
        between them. When something is urgent (requests waiting for a connection, connects,
        partial writes, or no timestamps) it also wakes as soon as a connection is ready, and
        handles it.
        """
        kernel_sleep = get_original("time", "sleep")
        kernel_select = get_original("select", "select")
        yield_to_gevent = gevent.sleep
        fd = [sender.fileno()]
        poll = sender.poll

        def wait(seconds: float) -> None:
            if sender.urgent:
                kernel_select(fd, [], [], min(seconds, KERNEL_SLEEP_MAX))
                poll()
            elif seconds <= KERNEL_SLEEP_MAX:
                kernel_sleep(seconds)
            else:
                kernel_sleep(KERNEL_SLEEP_MAX)
                yield_to_gevent(0)
                poll()

        return wait

    def in_client(self) -> int:
        """Requests in the client now: sent and unanswered, or waiting for a connection."""
        sender = self.sender
        return self.pending if sender is None else sender.pending

    def _warm_up(self) -> None:
        """Open every pooled connection (TCP only, no request) before the clock starts.

        Connecting inside the first scheduled sends would make them late for a reason that is
        no part of the run; failures are ignored here and surface as errors in the run.
        """
        clients = [self.pool.get() for _ in range(self.connections)]

        def connect(client: HTTPClient) -> None:
            pool: Any = getattr(client, "_connection_pool", None)
            if pool is None:
                return
            try:
                pool.release_socket(pool.get_socket())
            except Exception:
                log.debug("warm-up connection failed", exc_info=True)

        gevent.joinall([gevent.spawn(connect, c) for c in clients], timeout=self.timeout)
        for client in clients:
            self.pool.put(client)

    def _send(self, request: PlannedRequest, intended: float) -> None:
        perf = time.perf_counter
        recorder = self.recorder
        try:
            recorder.started(intended, perf())
            client = self.pool.get()
            sent = perf()
            cause: str | None = None
            status = 0
            body = b""
            error: BaseException | None = None
            headers = request.headers
            tagged = self.tagger.tag(headers) if self.tagger.share else None
            if tagged is not None:
                headers = tagged[0]
            try:
                response = client.request(
                    request.method, request.path, body=request.body or b"", headers=headers
                )
                try:
                    body = response.read()
                    status = response.status_code
                finally:
                    response.release()
            except (Exception, gevent.Timeout) as exc:
                cause, error = classify(exc), exc
            finally:
                self.pool.put(client)
            trace = tagged[1] if tagged is not None else None
            self._done(request, intended, sent, perf(), status, body, cause, error, trace)
        finally:
            self.pending -= 1

    def _done(  # noqa: PLR0917 - the sender's callback: plain positional arguments
        self,
        request: PlannedRequest | _Tagged,
        intended: float,
        sent: float,
        ended: float,
        status: int,
        body: bytes,
        cause: str | None,
        error: BaseException | None = None,
        trace: tuple[str, str] | None = None,
    ) -> None:
        """One request is over: judge its status, record it (and Locust, --open-locust-stats)."""
        if isinstance(request, _Tagged):  # the lean path carries the trace tag with the request
            trace = request.trace
            request = request.request
        business = None
        if cause is None:
            if status in request.expect:
                business = self.model.settle(request, status, body)
            else:
                compiled = request.compiled
                cause = (
                    compiled.cause(status)
                    if compiled is not None
                    else status_cause(request.name, status, request.expect)
                )
        if trace is not None:
            self.tagger.record(trace, request.name, status)
        self.recorder.finished(
            request.name,
            intended=intended,
            sent=sent,
            ended=ended,
            cause=cause,
            business=business,
        )
        if not self.locust_stats:
            return
        request_event: Any = self.environment.events.request
        request_event.fire(
            request_type=request.method,
            name=request.name,
            response_time=(ended - sent) * 1000.0,
            response_length=len(body),
            response=None,
            context={},
            start_time=self.origin_wall + (sent - self.origin),
            url=request.path,
            exception=(error or RuntimeError(cause)) if cause else None,
        )

    def _report_loop(self) -> None:
        """Publish every second; the per-request histograms only every ``DETAIL_EVERY``.

        Encoding the ~15 per-request histograms is most of a part's cost; the progress line
        and the abort check read only the totals and the window, and the final part always
        carries everything.
        """
        tick = 0
        while True:
            gevent.sleep(REPORT_INTERVAL)
            tick += 1
            self.publish(final=False, detail=tick % DETAIL_EVERY == 0)

    def _write_part(self, part: dict[str, Any], *, final: bool) -> None:
        """Write the part file in gevent's thread pool, off the scheduler's loop.

        A write and rename on a busy disk can take 100 ms, and in the loop it would delay every
        send meanwhile. A second's part is skipped while the previous one is still being
        written; the final part waits for that write, then is written before returning, so an
        older part never replaces it.
        """
        writing = self._writing
        out = self.out
        assert out is not None, "only called with --open-out"
        if final:
            if writing is not None:
                writing.wait()
            write_part(out, self.index, part)
            return
        if writing is not None and not writing.ready():
            return
        self._writing = gevent.get_hub().threadpool.spawn(write_part, out, self.index, part)

    def publish(self, *, final: bool, interrupted: bool = False, detail: bool = True) -> None:
        """Send or write this process's part (the final one only once, always in detail)."""
        if self.published_final:
            return
        self.published_final = final
        now = time.perf_counter()
        elapsed = (
            self.schedule.duration
            if (self.finished and not interrupted)
            else min(now - self.origin, self.schedule.duration)
        )
        runner = self.environment.runner
        part = self.recorder.part(
            now=now,
            final=final,
            detail=detail or final,
            worker=self.index,
            streams=self.streams,
            origin_wall=self.origin_wall,
            elapsed=elapsed,
            scheduled_due=self.due,
            stream_rps=self.schedule.stream_rate,
            pending=self.in_client(),
            interrupted=interrupted,
            connections=self.connections,
            cpu_seconds=_cpu_seconds() - self.cpu_start,
            rss_start=self.rss_start,
            rss_bytes=_rss_bytes(),
            cpu_warning=bool(getattr(runner, "cpu_warning_emitted", False)),
        )
        try:
            if final and self.tagger.share and self.out is not None:
                self.tagger.write(self.out, self.index)  # before the part: the launcher may end
            if isinstance(runner, WorkerRunner):
                runner.send_message(PART_MESSAGE, part)
            elif self.out is not None:
                self._write_part(part, final=final)
        except Exception:
            log.exception("could not publish the load part")
        if (
            final
            and runner is not None
            and not isinstance(runner, WorkerRunner)
            and not interrupted
        ):
            gevent.spawn_later(0.1, runner.quit)


class OpenModelUser(User):
    """One per load process: runs that process's share of the open-model schedule.

    Start exactly one per process (``-u 1`` locally, ``-u N`` for N workers); any extra user in
    the same process stays idle.
    """

    @task
    def drive(self) -> None:
        """Run the schedule once, then idle until the run is stopped."""
        opts = self.environment.parsed_options
        runner = self.environment.runner
        index = int(runner.worker_index) if isinstance(runner, WorkerRunner) else 0
        if opts is None or opts.open_rps <= 0:
            log.warning("OpenModelUser idle: pass --open-rps N to run the open model")
        elif index >= max(1, int(opts.open_workers)):
            log.warning(
                "OpenModelUser idle: worker index %d but --open-workers %d; the rate is "
                "shared by exactly --open-workers processes",
                index,
                opts.open_workers,
            )
        elif OpenModelRun.current is None:
            OpenModelRun(self.environment).run()
        while True:
            gevent.sleep(3600)


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    runner = environment.runner
    # Registered after the runner's own listeners: ``quitting`` fires in reverse order, so a
    # worker stopped by SIGTERM sends its final part before it tells the master it quits.
    quitting: Any = environment.events.quitting
    quitting.add_listener(_on_test_stop)
    if not isinstance(runner, MasterRunner):
        return
    opts = environment.parsed_options
    out = Path(opts.open_out) if opts is not None and opts.open_out else None
    finals: set[int] = set()

    def on_part(msg: Any, **_kw: Any) -> None:
        data = msg.data
        if out is not None:
            write_part(out, int(data.get("worker", 0)), data)
        if data.get("final") and not data.get("interrupted"):
            finals.add(int(data.get("worker", 0)))
            if opts is not None and len(finals) >= max(1, int(opts.open_workers)):
                gevent.spawn_later(0.2, runner.quit)

    runner.register_message(PART_MESSAGE, on_part)


def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    run = OpenModelRun.current
    if run is not None and not run.finished:
        run.stopping = True
        run.publish(final=True, interrupted=True)


_events: Any = events
_events.init_command_line_parser.add_listener(add_options)
_events.init.add_listener(_on_init)
_events.test_stop.add_listener(_on_test_stop)
