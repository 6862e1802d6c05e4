"""Inbox latency (issue 5 bar): from webhook accepted to message visible in an open inbox, p99 under
150 ms at 200 msgs/s.

``crocevia serve`` runs as a subprocess on a fresh database (SQLite, and PostgreSQL when it answers).
The benchmark signs in as the UI does (``POST /api/v1/auth/login``, session cookie) and opens the
inbox's live channel, the very WebSocket the page uses (``/api/v1/live``). Then it sends signed sandbox
webhooks at a steady rate (open loop: message *n* is due at ``start + n / rate`` whatever happened to
the others, so a slow server cannot slow the sender down and hide its own latency) and notes, for each
provider message id:

* ``due``: when it was scheduled; ``sent``: when its request was written;
* ``accepted``: when the hub's 2xx arrived (the provider's webhook is accepted: stored and committed);
* ``live``: when its ``message.created`` event arrived on the inbox's WebSocket;
* ``shown`` (``--inbox-browser``): when a headless Chromium page signed in to the inbox displayed the
  message's text in the conversation list (a MutationObserver in the page, timestamps on the same
  machine clock).

Reported per engine: p50/p95/p99/max of accepted→live, due→live (the whole trip including ingest and
any queueing at the sender) and, with the browser, accepted→shown. Senders are drawn with a skew
from a pool, so conversations are both created and found again, as in a real inbox.

    python -m bench --only inbox [--inbox-rate 200] [--inbox-duration 20] [--inbox-browser] [--no-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import websockets

from bench.ingest import (
    CREDS,
    _machine_busy,
    _table,
    cpu_seconds,
    hub_target,
    postgres_reachable,
    private_pg_schema,
    server_process,
)
from bench.loadgen import read_response
from crocevia.channels.sandbox.adapter import SIGNATURE_HEADER, sign

BAR_MS = 150.0
CHROMIUM = "/usr/bin/chromium"  # Debian's, as in the browser tests
OWNER = {"email": "owner@bench.test", "password": "password-123"}  # made by ingest._prepare_hub_db
_TEXTS = ("Buongiorno, avete un tavolo per stasera?", "A che ora aprite domenica?", "Ok grazie",
          "Hi! Is my order shipped yet?", "Il pacco è arrivato danneggiato, posso mandare una foto?")


@dataclass
class Options:
    rate: float = 200.0
    duration: float = 20.0
    warmup: float = 3.0
    connections: int = 32
    senders: int = 400
    postgres: bool = True
    browser: bool = False


@dataclass
class Sample:
    due: float
    sender: int = 0
    sent: float = 0.0
    accepted: float = 0.0
    live: float = 0.0
    received: float = 0.0  # the page's WebSocket delivered it (browser run)
    shown: float = 0.0
    status: int = 0


@dataclass
class Run:
    name: str
    samples: dict[str, Sample] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    measured_from: float = 0.0
    achieved_rate: float = 0.0
    browser_note: str = ""
    page_cpu: float = 0.0  # share of one core the inbox page's renderer used while loaded
    page_requests: int = -1  # API requests the inbox page made while loaded (-1: no browser run)
    server_cpu: float = 0.0  # share of one core the hub used while loaded
    machine_cpu: float = 0.0  # share of one core used by every process on the machine
    cores: int = 1


def _event(n: int, tag: str, rng: random.Random, senders: int) -> tuple[str, int, bytes]:
    mid = f"{tag}-{n}"
    who = int(senders * rng.random() ** 2)
    # The marker lets the browser page tell this message's row apart from every other.
    text = f"{rng.choice(_TEXTS)} ⟦{mid}⟧"
    body = json.dumps({"events": [{"type": "message", "id": mid, "from": f"+39333{who:07d}",
                                   "name": f"Cliente {who}", "text": text, "timestamp": 1_700_000_000 + n}]},
                      separators=(",", ":")).encode()
    return mid, who, body


def _request(public_id: str, port: int, body: bytes) -> bytes:
    head = (f"POST /webhooks/sandbox/{public_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Content-Type: application/json\r\n{SIGNATURE_HEADER}: {sign(CREDS['webhook_secret'], body)}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


async def _sender(port: int, public_id: str, queue: asyncio.Queue[tuple[str, bytes] | None], run: Run) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (item := await queue.get()) is not None:
            mid, body = item
            sample = run.samples[mid]
            wait = sample.due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            sample.sent = time.perf_counter()
            writer.write(_request(public_id, port, body))
            status, _body, keep_alive = await read_response(reader)
            sample.accepted, sample.status = time.perf_counter(), status
            if status >= 300 and len(run.errors) < 5:
                run.errors.append(f"HTTP {status}: {_body[:200]!r}")
            if not keep_alive:
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


async def _listen(ws: Any, run: Run, expected: int, done: asyncio.Event) -> None:
    try:
        await _receive(ws, run, expected, done)
    except websockets.ConnectionClosed as exc:
        # 4008: the hub dropped events for this feed (it fell behind); a page would reload.
        run.errors.append(f"the hub closed the live feed ({exc})")


async def _receive(ws: Any, run: Run, expected: int, done: asyncio.Event) -> None:
    seen = 0
    async for raw in ws:
        event = json.loads(raw)
        if event.get("type") != "message.created":
            continue
        mid = event["data"]["message"].get("provider_message_id")
        sample = run.samples.get(mid)
        if sample is not None and not sample.live:
            sample.live = time.perf_counter()
            seen += 1
            if seen >= expected:
                done.set()
                return


async def _drive(port: int, public_id: str, cookie: str, opts: Options, run: Run, tag: str) -> None:
    total = int(opts.rate * (opts.warmup + opts.duration))
    rng = random.Random(5)
    async with websockets.connect(f"ws://127.0.0.1:{port}/api/v1/live",
                                  additional_headers={"Cookie": cookie}, max_size=None) as ws:
        hello = json.loads(await ws.recv())
        assert hello["type"] == "hello", hello
        queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue()
        start = time.perf_counter() + 0.5
        run.measured_from = start + opts.warmup
        for n in range(total):
            mid, who, body = _event(n, tag, rng, opts.senders)
            run.samples[mid] = Sample(due=start + n / opts.rate, sender=who)
            queue.put_nowait((mid, body))
        for _ in range(opts.connections):
            queue.put_nowait(None)
        done = asyncio.Event()
        listener = asyncio.create_task(_listen(ws, run, total, done))
        await asyncio.gather(*(_sender(port, public_id, queue, run) for _ in range(opts.connections)))
        last_sent = max(s.sent for s in run.samples.values())
        run.achieved_rate = total / (last_sent - start) if last_sent > start else 0.0
        try:
            await asyncio.wait_for(done.wait(), timeout=10)
        except TimeoutError:
            missing = sum(1 for s in run.samples.values() if not s.live)
            run.errors.append(f"{missing} accepted messages never reached the live feed within 10 s")
        listener.cancel()


def _login(port: int) -> str:
    resp = httpx.post(f"http://127.0.0.1:{port}/api/v1/auth/login", json=OWNER, timeout=30)
    resp.raise_for_status()
    return "; ".join(f"{k}={v}" for k, v in resp.cookies.items())


# -- the browser page ------------------------------------------------------------------------------
# Runs in the inbox page: whenever the conversation list changes, note when each marker first shows.
# Only what changed is read (added nodes, changed text), not the whole list: the page now draws
# each event as it comes, and re-reading hundreds of rows per change made the observer itself
# the page's biggest cost (it delayed the very events it timed).
_OBSERVER = """() => {
  window.__shown = {};
  const list = document.getElementById('conv-list');
  const marker = /\\u27e6([^\\u27e7]+)\\u27e7/g;
  const note = (text, now) => {
    if (!text || text.indexOf('\\u27e6') < 0) return;
    for (const m of text.matchAll(marker)) if (!(m[1] in window.__shown)) window.__shown[m[1]] = now;
  };
  const scan = (records) => {
    const now = performance.timeOrigin + performance.now();
    for (const r of records) {
      if (r.type === 'characterData') note(r.target.data, now);
      else for (const node of r.addedNodes) if (list.contains(node)) note(node.textContent, now);
    }
  };
  new MutationObserver(scan).observe(list, { childList: true, subtree: true, characterData: true });
}"""


# Runs before the page's own scripts: note when the page's WebSocket hands over each marker, so the
# browser's time splits into "reaching the page" and "the page drawing it".
_RECEIVED = """
window.__received = {};
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    // The marker is the message's provider id: read from the raw text, without parsing the event
    // a second time (the page parses it once already).
    this.addEventListener('message', (msg) => {
      const now = performance.timeOrigin + performance.now();
      if (typeof msg.data !== 'string' || msg.data.indexOf('"message.created"') < 0) return;
      const found = /"provider_message_id":\\s*"([^"]+)"/.exec(msg.data);
      if (found && !(found[1] in window.__received)) window.__received[found[1]] = now;
    });
  }
};
"""


class _Browser:
    """A signed-in inbox page in headless Chromium, or a note saying why there is none."""

    def __init__(self, port: int) -> None:
        self.page: Any = None
        self.note = ""
        self._pw: Any = None
        self._browser: Any = None
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            self.note = f"no browser run: {exc}"
            return
        if not Path(CHROMIUM).exists():
            self.note = f"no browser run: {CHROMIUM} is not installed"
            return
        self._pw = sync_playwright().start()
        self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = self._browser.new_page(viewport={"width": 1366, "height": 850})
        page.add_init_script(_RECEIVED)
        page.goto(f"http://127.0.0.1:{port}/ui/login")
        page.get_by_label("E-mail").fill(OWNER["email"])
        page.get_by_label("Password").fill(OWNER["password"])
        page.locator("button[type=submit]").click()
        page.wait_for_selector("#live-state[data-state=live]", timeout=30_000)
        page.evaluate(_OBSERVER)
        # What the page costs while loaded: its renderer's CPU, and the API requests it makes (a live
        # event should not need any).
        page.evaluate("performance.setResourceTimingBufferSize(1000000); performance.clearResourceTimings()")
        self._renderers = [p for p in psutil.Process().children(recursive=True)
                           if "--type=renderer" in " ".join(_cmdline(p))]
        self.page = page

    def cpu_seconds(self) -> float:
        """CPU time used so far by this browser's renderers (the page's main thread among them)."""
        total = 0.0
        for p in getattr(self, "_renderers", []):
            with contextlib.suppress(psutil.Error):  # a renderer that went away
                total += cpu_seconds(p.pid)
        return total

    def api_requests(self) -> int:
        if self.page is None:
            return -1
        count: int = self.page.evaluate(
            "performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/')).length")
        return count

    def shown(self) -> tuple[dict[str, float], dict[str, float]]:
        """(when each marker reached the page, when it was first shown), in ms since the epoch."""
        if self.page is None:
            return {}, {}
        self.page.wait_for_timeout(1000)  # the last rows' rendering
        got: tuple[dict[str, float], dict[str, float]] = self.page.evaluate("[window.__received, window.__shown]")
        return got

    def close(self) -> None:
        if self._browser is not None:
            self._browser.close()
        if self._pw is not None:
            self._pw.stop()


def _cmdline(p: psutil.Process) -> list[str]:
    try:
        return p.cmdline()
    except psutil.Error:
        return []


def measure(name: str, database_url: str, tmp: Path, opts: Options) -> Run:
    run = Run(name)
    target = hub_target(tmp, name.replace(" ", "_"), database_url)
    with ExitStack() as stack:
        proc = stack.enter_context(server_process(target.cmd, target.env, target.port, target.log))
        cookie = _login(target.port)
        browser = _Browser(target.port) if opts.browser else None
        if browser is not None:
            stack.callback(browser.close)
            run.browser_note = browser.note
        wall0, perf0 = time.time(), time.perf_counter()
        server0, machine0 = cpu_seconds(proc.pid), _machine_busy()
        page0 = browser.cpu_seconds() if browser is not None else 0.0
        # Its own thread: Playwright's sync API keeps an event loop running in this one.
        driver = threading.Thread(target=asyncio.run,
                                  args=(_drive(target.port, target.public_id, cookie, opts, run, name),))
        driver.start()
        driver.join()
        wall = time.perf_counter() - perf0
        run.server_cpu = (cpu_seconds(proc.pid) - server0) / wall
        run.machine_cpu = (_machine_busy() - machine0) / wall
        if browser is not None and browser.page is not None:
            run.page_cpu = (browser.cpu_seconds() - page0) / wall
            run.page_requests = browser.api_requests()
        run.cores = psutil.cpu_count() or 1
        if browser is not None and browser.page is not None:
            received, shown = browser.shown()
            for mid, wall_ms in received.items():
                if mid in run.samples:
                    run.samples[mid].received = perf0 + (wall_ms / 1000 - wall0)
            _note_shown(run, {mid: perf0 + (wall_ms / 1000 - wall0) for mid, wall_ms in shown.items()})
    return run


def _note_shown(run: Run, seen: dict[str, float]) -> None:
    """A row shows a customer's latest message: one superseded within the same drawing (the same
    customer wrote again a few ms later) counts as shown when the row first showed a later one."""
    by_sender: dict[int, list[tuple[str, Sample]]] = {}
    for mid, sample in run.samples.items():  # in sending order
        by_sender.setdefault(sample.sender, []).append((mid, sample))
    for samples in by_sender.values():
        first_later = 0.0
        for mid, sample in reversed(samples):
            if mid in seen:
                first_later = seen[mid] if not first_later else min(first_later, seen[mid])
            sample.shown = first_later


# -- report ---------------------------------------------------------------------------------------
def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] if xs else float("nan")


def _row(run: Run, what: str, pairs: list[tuple[float, float]]) -> list[str]:
    ms = [(b - a) * 1000 for a, b in pairs]
    return [run.name, what, str(len(ms)), *(f"{_pct(ms, q):.1f}" for q in (0.5, 0.95, 0.99)),
            f"{max(ms):.1f}" if ms else "-"]


def report(runs: list[Run], opts: Options) -> tuple[bool, str]:
    rows: list[list[str]] = []
    ok, verdicts = True, []
    for run in runs:
        measured = [s for s in run.samples.values() if s.due >= run.measured_from]
        accepted = [s for s in measured if 200 <= s.status < 300]
        rows.append(_row(run, "accepted → live", [(s.accepted, s.live) for s in accepted if s.live]))
        rows.append(_row(run, "due → live", [(s.due, s.live) for s in accepted if s.live]))
        rows.append(_row(run, "due → accepted", [(s.due, s.accepted) for s in accepted]))
        if opts.browser and not run.browser_note:
            rows.append(_row(run, "accepted → page got it", [(s.accepted, s.received) for s in accepted if s.received]))
            rows.append(_row(run, "page got it → shown", [(s.received, s.shown) for s in accepted
                                                            if s.received and s.shown]))
            rows.append(_row(run, "accepted → shown (browser)", [(s.accepted, s.shown) for s in accepted if s.shown]))
        p99 = _pct([(s.live - s.accepted) * 1000 for s in accepted if s.live], 0.99)
        verdicts.append(f"{run.name}: {run.achieved_rate:.0f} msgs/s sent; accepted → live p99 {p99:.1f} ms: "
                        + ("bar met" if p99 < BAR_MS else f"bar NOT met (< {BAR_MS:.0f} ms)")
                        + f"; CPU: hub {run.server_cpu:.0%} of a core, the whole machine "
                          f"{run.machine_cpu:.0%} of {run.cores} cores (bench client and browser included)")
        if run.browser_note:
            verdicts.append(f"{run.name}: {run.browser_note}")
        elif run.page_requests >= 0:
            verdicts.append(f"{run.name}: inbox page: renderer {run.page_cpu:.0%} of a core, "
                            f"{run.page_requests} API requests while loaded")
        for err in run.errors:
            verdicts.append(f"!! {run.name}: {err}")
            ok = False
        if len(accepted) != len(measured):
            verdicts.append(f"!! {run.name}: {len(measured) - len(accepted)} webhooks not accepted")
            ok = False
    head = (f"== Inbox latency (bench/inbox_latency.py): {opts.rate:.0f} msgs/s for {opts.duration:.0f} s "
            f"after {opts.warmup:.0f} s warm-up, {opts.connections} connections, {opts.senders} customers; "
            f"bar: accepted → live p99 < {BAR_MS:.0f} ms")
    table = _table(["engine", "interval", "msgs", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows)
    return ok, "\n".join([head, table, *verdicts])


def run(opts: Options) -> tuple[bool, str]:
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="crocevia-bench-inbox-") as tmp_name:
        tmp = Path(tmp_name)
        print("inbox: SQLite ...", flush=True)
        runs.append(measure("sqlite", f"sqlite:///{tmp}/inbox.db", tmp, opts))
        skip = None
        if opts.postgres:
            skip = postgres_reachable()
            if skip is None:
                print("inbox: PostgreSQL ...", flush=True)
                with private_pg_schema() as url:
                    runs.append(measure("postgres", url, tmp, opts))
        ok, text = report(runs, opts)
        if opts.postgres and skip:
            text += f"\n-- PostgreSQL SKIPPED: {skip}"
        return ok, text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.inbox_latency", description=__doc__.split("\n")[0])
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--warmup", type=float, default=3.0)
    p.add_argument("--browser", action="store_true")
    p.add_argument("--no-postgres", action="store_true")
    a = p.parse_args(argv)
    ok, text = run(Options(rate=a.rate, duration=a.duration, warmup=a.warmup, browser=a.browser,
                           postgres=not a.no_postgres))
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
