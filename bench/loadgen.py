"""Load generator: raw asyncio HTTP/1.1 keep-alive clients, run in a process of its own.

    python -m bench.loadgen --port P --public-id ch_x --secret s [--path /bare] [--connections 32]
    python -m bench.loadgen --sink-server PORT      # a trivial server, to measure this client's ceiling

A fixed number of connections each send one request, wait for the whole response, and send
the next (a closed loop, like a provider's webhook workers). Requests are the signed sandbox
deliveries of ``bench.payloads``, built as they are sent. Only responses that complete inside
the measuring window (after the warm-up) count towards msgs/s and latency; every non-2xx
answer or broken connection, in any phase, is an error. The result is one JSON object on
stdout. No HTTP library on purpose: parsing a status line and a Content-Length is all the
work the client does, so it is not what limits the figures (``--sink-server`` shows how far
it goes against a server that does nothing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from bench.payloads import SandboxStream, retarget

try:
    import uvloop

    HAVE_UVLOOP = True
except ImportError:  # uvloop comes with uvicorn[standard]; plain asyncio still works
    HAVE_UVLOOP = False


class ProtocolError(Exception):
    pass


@dataclass
class Tally:
    measuring: bool = False
    stopping: bool = False
    latencies: list[float] = field(default_factory=list)
    completed_total: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    acked_ids: set[str] = field(default_factory=set)
    redeliveries: int = 0

    def error(self, what: str) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(what)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """(status, body, keep_alive) of one HTTP/1.1 response."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head[:-4].split(b"\r\n")
    try:
        status = int(lines[0].split(b" ", 2)[1])
    except (IndexError, ValueError) as exc:
        raise ProtocolError(f"bad status line {lines[0]!r}") from exc
    length, chunked, keep_alive = 0, False, True
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    if not chunked:
        return status, await reader.readexactly(length), keep_alive
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body, keep_alive
        body += chunk[:-2]


async def connection(host: str, port: int, stream: SandboxStream, path: str | None, mode: str,
                     tally: Tally) -> None:
    empty = stream.render(b'{"events":[]}')
    writer: asyncio.StreamWriter | None = None
    while not tally.stopping:
        try:
            if writer is None:
                reader, writer = await asyncio.open_connection(host, port)
            delivery = next(stream)
            if mode == "get":
                raw = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
            elif mode == "empty":
                raw = empty
            else:
                raw = retarget(delivery.raw, path) if path else delivery.raw
            started = time.perf_counter()
            writer.write(raw)
            status, body, keep_alive = await read_response(reader)
            elapsed = time.perf_counter() - started
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError, ValueError) as exc:
            tally.error(f"{type(exc).__name__}: {exc}")
            if writer is not None:
                writer.close()
            writer = None
            await asyncio.sleep(0.05)
            continue
        tally.completed_total += 1
        tally.statuses[status] = tally.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            tally.acked_ids.add(delivery.message_id)
            tally.redeliveries += delivery.redelivery
        else:
            tally.error(f"HTTP {status}: {body[:200].decode(errors='replace')}")
        if tally.measuring:
            tally.latencies.append(elapsed)
        if not keep_alive:
            writer.close()
            writer = None
    if writer is not None:
        writer.close()


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    stream = SandboxStream(public_id=args.public_id, secret=args.secret, host=f"{args.host}:{args.port}",
                           seed=args.seed, run_tag=args.run_tag, redelivery_rate=args.redelivery_rate)
    tally = Tally()
    tasks = [asyncio.create_task(connection(args.host, args.port, stream, args.path, args.mode, tally))
             for _ in range(args.connections)]
    await asyncio.sleep(args.warmup)
    tally.measuring = True
    tally.latencies.clear()
    before = tally.completed_total
    started = time.perf_counter()
    await asyncio.sleep(args.duration)
    tally.measuring = False
    window = time.perf_counter() - started
    done_in_window = tally.completed_total - before
    tally.stopping = True
    # In-flight requests finish (and are checked) before the result is final.
    await asyncio.gather(*tasks)
    lat = sorted(tally.latencies)
    if args.latencies_out:
        # Raw samples (float64 seconds) for a caller that merges several runs' percentiles.
        with open(args.latencies_out, "wb") as f:
            array("d", lat).tofile(f)
    return {
        "connections": args.connections,
        "seconds": window,
        "requests": done_in_window,
        "rps": done_in_window / window if window else 0.0,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "completed_total": tally.completed_total,
        "errors": tally.errors,
        "error_samples": tally.error_samples,
        "statuses": {str(k): v for k, v in sorted(tally.statuses.items())},
        "acked_unique": len(tally.acked_ids),
        "redeliveries_acked": tally.redeliveries,
        "cpu_seconds": time.process_time(),
    }


# -- the sink server: how fast can this client go at all? ---------------------------------------
class _Sink(asyncio.Protocol):
    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buf = b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            length = 0
            for line in self.buf[:end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            total = end + 4 + length
            if len(self.buf) < total:
                return
            self.buf = self.buf[total:]
            self.transport.write(self.RESPONSE)


async def sink_server(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Sink, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def _run(coro: Any) -> Any:
    if HAVE_UVLOOP:
        return uvloop.run(coro)
    return asyncio.run(coro)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="HTTP/1.1 keep-alive load generator for sandbox webhooks")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--public-id", default="ch_bench")
    p.add_argument("--secret", default="bench-secret-123")
    p.add_argument("--path", default=None, help="send to this path instead of /webhooks/sandbox/<public id>")
    p.add_argument("--mode", choices=["messages", "empty", "get"], default="messages",
                   help="messages: new signed messages (default); empty: one signed delivery with no events, "
                        "over and over; get: bodiless GETs to --path")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--run-tag", default="r")
    p.add_argument("--redelivery-rate", type=float, default=0.01)
    p.add_argument("--latencies-out", default=None, help="also write the raw latency samples to this file")
    p.add_argument("--sink-server", type=int, metavar="PORT", help="serve the trivial sink instead")
    args = p.parse_args(argv)
    if args.sink_server:
        _run(sink_server(args.sink_server))
        return 0
    result = _run(run(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
