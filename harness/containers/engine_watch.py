"""Whether the engine still answers, and waiting for it to come back (bounded, with progress).

A run outlives its engine's restarts: when the engine stops answering, the cell in flight gets
no verdict with that cause (never the image's), and the run waits for the engine before the
next cell instead of failing every remaining cell in the same second.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Protocol
from urllib.parse import urlparse

from harness.containers.engine import DEFAULT_SOCKET, Engine
from harness.errors import UsageError

# How long a run waits for its engine to answer again before giving the rest no verdict
# (HARNESS_ENGINE_WAIT overrides it, in seconds).
ENGINE_RETURN_SECONDS = 180.0
WAIT_VARIABLE = "HARNESS_ENGINE_WAIT"
PROGRESS_EVERY_SECONDS = 10.0
PING_TIMEOUT_SECONDS = 5.0
ENGINE_GONE = "the engine stopped answering"


def say_on_stderr(line: str) -> None:
    """How a command says it is waiting (or what it could not remove): stderr, beside its
    progress, never in its reports."""
    print(f"harness: {line}", file=sys.stderr, flush=True)


def answers(engine: Engine) -> bool:
    """Whether the engine answers `GET /_ping` now. A socket of its own, closed whatever
    happens: the SDK's connection pool leaves a socket open after each refused connection,
    which a pytest run reports as a failure of whichever test the collector runs in."""
    parsed = urlparse(engine.docker_host or DEFAULT_SOCKET)
    address: str | tuple[str, int]
    if parsed.scheme == "unix":
        family, address = socket.AF_UNIX, parsed.path
    elif parsed.scheme in ("tcp", "http") and parsed.hostname:
        family, address = socket.AF_INET, (parsed.hostname, parsed.port or 2375)
    else:  # TLS, ssh:// and the like: the SDK's own ping
        try:
            return bool(engine.client.ping())
        except Exception:  # the SDK raises many kinds; all mean "not answering"
            return False
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.settimeout(PING_TIMEOUT_SECONDS)
            probe.connect(address)
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return probe.recv(64).startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    except OSError:  # refused, reset, a timeout: not answering
        return False


def wait_for_engine(
    probe: Callable[[], bool],
    *,
    show: Callable[[str], None],
    limit: float = ENGINE_RETURN_SECONDS,
    every: float = PROGRESS_EVERY_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> bool:
    """True as soon as `probe` says the engine answers; False once `limit` seconds have passed.
    `show` gets a line when the wait starts and every `every` seconds of it."""
    if probe():
        return True
    started = clock()
    show(f"{ENGINE_GONE}; waiting up to {limit:.0f} s for it to come back")
    next_line = started + every
    while clock() - started < limit:
        sleep(1.0)
        if probe():
            show(f"the engine answers again after {clock() - started:.0f} s; going on")
            return True
        if clock() >= next_line:
            show(f"still waiting for the engine ({clock() - started:.0f} s of {limit:.0f} s)")
            next_line += every
    return False


def forget_refused_sockets() -> None:
    """Collect, quietly and now, the sockets the SDK's connection pool left open when the engine
    refused it: else the collector closes them later with a ResourceWarning, which a pytest run
    (warnings as errors) reports as a failure of whichever test it happens in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def engine_cause(seen: str, step: str) -> str:
    """A cell's error when the engine no longer answers after it: an engine that went away
    during `step`, not an image that failed ("exited before it answered")."""
    return f"{ENGINE_GONE} during {step} (what the cell saw: {seen})"


def engine_restart_cause(seen: str, step: str) -> str:
    """A failed cell's error when the engine went away during it and answers again: a restart
    (or a cut connection) stops the engine's containers, so the image is not to blame."""
    return (
        f"{ENGINE_GONE} during {step} and came back (its event stream to the harness ended: "
        f"the engine restarted or the connection to it was cut, which stops or hides its "
        f"containers); no verdict, run the cell again (what the cell saw: {seen})"
    )


def engine_restart_verdict_cause(step: str) -> str:
    """The error of a cell that read its rows back although the engine went away during it."""
    return (
        f"{ENGINE_GONE} during {step} and came back (its event stream to the harness ended: "
        "the engine restarted or the connection to it was cut); the rows went through more "
        "than the action, so no verdict"
    )


class HeldStream(Protocol):
    """An engine's event stream held open: iterated until the engine ends it, closable from
    another thread."""

    def __iter__(self) -> Iterator[object]: ...
    def close(self) -> None: ...


class RestartWatch:
    """Whether the engine went away at some moment, told by a stream it holds open for the run.

    Docker's API has no daemon start time, and a restarted engine answers as before; but every
    connection a dying engine held ends. So the run holds one quiet stream (`hold`: an event
    stream for events that never come) and notes, in this machine's clock, each time it ends;
    once the engine answers again the stream is held again. It works for any engine the SDK
    reaches, local or remote (no engine clock, no process of this machine). An engine that
    refuses such a stream tells nothing, and nothing is claimed from it."""

    def __init__(
        self,
        hold: Callable[[], HeldStream | None],
        *,
        ready: Callable[[], bool] = lambda: True,
        clock: Callable[[], int] = time.time_ns,
        retry_seconds: float = 1.0,
    ) -> None:
        self._hold = hold
        # Asked before each hold: an engine that does not answer is waited for on a probe of
        # its own, never through the SDK, whose refused connections leave sockets for the
        # collector (which this thread must not run: it changes the process's warning filters).
        self._ready = ready
        self._clock = clock
        self._retry_seconds = retry_seconds
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._stream: HeldStream | None = None
        self.breaks: list[int] = []  # when a held stream ended, this machine's clock
        self.held_once = False  # a stream was held (before that, nothing can be told)
        self.refused = False  # the engine answers but will not hold such a stream

    def start(self) -> RestartWatch:
        threading.Thread(target=self._watch, name="harness-restart-watch", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            _close_quietly(stream)

    def went_away_at(self, since_ns: int | None, until_ns: int | None = None) -> int | None:
        """When the engine first ended the stream from `since_ns` on (before `until_ns`); with
        no end given, also now if it holds none after it once did (gone, or not yet held
        again). None: it did not go away, or nothing can be told."""
        if since_ns is None or self.refused:
            return None
        with self._lock:
            broken = [at for at in self.breaks if at >= since_ns]
            down_now = self.held_once and self._stream is None and not self._stopped.is_set()
        if until_ns is not None:
            broken = [at for at in broken if at < until_ns]
        elif down_now:
            broken.append(self._clock())
        return min(broken, default=None)

    def _watch(self) -> None:
        while not self._stopped.is_set():
            stream = self._open()
            if stream is None:
                if self.refused:
                    return
                self._stopped.wait(self._retry_seconds)
                continue
            # Nothing comes; the loop ends when the stream does (a reset or a protocol error
            # ends it too).
            with contextlib.suppress(Exception):
                for _ in stream:
                    pass
            with self._lock:
                held, self._stream = self._stream is stream, None
                if held and not self._stopped.is_set():
                    self.breaks.append(self._clock())
            _close_quietly(stream)

    def _open(self) -> HeldStream | None:
        if not self._ready():
            return None
        try:
            stream = self._hold()
        except Exception:  # the engine does not answer now: try again later
            return None
        if stream is None:
            self.refused = True
            return None
        with self._lock:
            if self._stopped.is_set():
                _close_quietly(stream)
                return None
            self._stream, self.held_once = stream, True
        return stream


def _close_quietly(stream: HeldStream) -> None:
    with contextlib.suppress(Exception):  # already closed by the engine's end
        stream.close()


# Per engine connection (by identity: an Engine compares by value), forgotten when it goes.
_WATCHES: dict[int, RestartWatch] = {}


def watch_restarts(engine: Engine) -> RestartWatch:
    """The engine's restart watch, started on first use and stopped when the engine is
    closed (one per engine connection, whatever runs on it)."""
    key = id(engine)
    watch = _WATCHES.get(key)
    if watch is None:
        watch = RestartWatch(engine.hold_event_stream, ready=lambda: answers(engine)).start()
        _WATCHES[key] = watch

        def forget() -> None:
            watch.stop()
            _WATCHES.pop(key, None)

        engine.on_close.append(forget)
        weakref.finalize(engine, forget)
    return watch


def went_away_at(engine: Engine, since_ns: int | None, until_ns: int | None = None) -> int | None:
    """When the engine's watch saw it go away from `since_ns` on (None also when no run watches
    it: nothing is claimed without evidence)."""
    watch = _WATCHES.get(id(engine))
    return None if watch is None else watch.went_away_at(since_ns, until_ns)


class EngineWatch:
    """One run's watch on its engine: before each cell it waits for the engine (bounded, with
    progress); once the engine has not come back, every later cell gets no verdict at once."""

    def __init__(
        self, engine: Engine, show: Callable[[str], None], limit: float = ENGINE_RETURN_SECONDS
    ) -> None:
        self.engine = engine
        self.show = show
        self.limit = limit
        self.gone = ""  # why the remaining cells get no verdict

    @property
    def wait_at_end(self) -> float:
        """How long the run's cleanup may wait for the engine: not again once it gave up."""
        return 0.0 if self.gone else self.limit

    def before_cell(self) -> str:
        """ "" when the engine answers (now or after a wait); else why the cell cannot run."""
        if self.gone or answers(self.engine):
            return self.gone
        if not wait_for_engine(lambda: answers(self.engine), show=self.show, limit=self.limit):
            self.gone = f"{ENGINE_GONE} and did not come back within {self.limit:.0f} s"
        forget_refused_sockets()
        return self.gone


def return_limit(environ: Mapping[str, str]) -> float:
    """The wait for an engine to come back: HARNESS_ENGINE_WAIT seconds, else the default; a
    value that is not a positive number is a usage error."""
    text = environ.get(WAIT_VARIABLE)
    if text is None:
        return ENGINE_RETURN_SECONDS
    try:
        limit = float(text)
    except ValueError:
        limit = -1.0
    if limit <= 0:
        raise UsageError(
            f"{WAIT_VARIABLE}={text} is not a number of seconds above 0; fix or unset it."
        )
    return limit
