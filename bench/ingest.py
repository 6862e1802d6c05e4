"""Ingest benchmark (issue 2, item 10): webhooks/s through the whole pipeline vs a bare insert.

Every target is a server process of its own, started the way it runs in production, and is
driven by ``bench.loadgen`` in another process:

* ``loadgen ceiling``: the load generator against a server that does nothing, to show the
  client is not what limits the other rows;
* ``baseline``: ``bench.baseline_app``, a Starlette endpoint that only inserts the raw body
  into SQLite (WAL, synchronous=NORMAL), served by the same ``uvicorn.run`` call as the hub;
* ``hub sqlite`` / ``hub postgres``: ``crocevia serve`` (with its in-process workers), taking
  signed ``POST /webhooks/sandbox/<channel>`` deliveries through verify → parse → idempotent
  ingest → commit → events. PostgreSQL runs in a private schema, dropped afterwards, and is
  skipped (and said so) when 127.0.0.1:5432 does not answer.

The targets are measured in interleaved rounds (baseline, hub sqlite, hub postgres, baseline,
...), so that other load on the machine, which comes and goes, weighs on all of them alike
and the ratio to the baseline compares like with like. After the run every hub database is
checked: each acknowledged provider message id is stored exactly once (the stream includes
re-deliveries, which must not add rows).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("CROCEVIA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET_KEY = "bench-secret-key-not-for-production"
CREDS = {"account_id": "acct-bench", "api_key": "key-bench-12345", "webhook_secret": "whsec-bench-12345"}
BAR = 0.30  # the bar: full pipeline on SQLite ≥ 30% of the bare insert
NAN = float("nan")
NO_DLP = "hub sqlite, DLP off"  # the same server with data-leak protection switched off (bench only)


@dataclass
class Options:
    duration: float = 20.0  # measured seconds per target, split over the rounds
    rounds: int = 4
    warmup: float = 1.5  # per round, not measured
    connections: int = 32
    postgres: bool = True
    dlp_off: bool = True  # also run the SQLite hub with data-leak protection off (issue 4: its cost)


@dataclass
class Usage:
    """CPU seconds used while the load generator ran, by whom (the machine may be shared)."""

    wall: float = 0.0
    server: float = 0.0
    loadgen: float = 0.0
    machine: float = 0.0  # every process, all cores

    @property
    def others(self) -> float:
        return max(0.0, self.machine - self.server - self.loadgen)

    def add(self, other: Usage) -> None:
        self.wall += other.wall
        self.server += other.server
        self.loadgen += other.loadgen
        self.machine += other.machine


@dataclass
class Target:
    """One server under load, and everything measured on it over all rounds."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    port: int
    log: Path
    path: str | None = None  # request path override (the baseline's); else the sandbox webhook
    mode: str = "messages"  # the load generator's --mode (the floor rows use the others)
    public_id: str = "ch_bench"
    database_url: str = ""
    channel_id: int = 0
    pid: int = 0
    usage: Usage = field(default_factory=Usage)
    seconds: float = 0.0
    requests: int = 0  # answered inside the measuring windows
    completed_total: int = 0  # every answer, warm-up included
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    acked_unique: int = 0
    redeliveries_acked: int = 0
    latencies: list[float] = field(default_factory=list)
    rss_idle_mb: float = NAN
    rss_after_mb: float = NAN
    stored: int | None = None
    contacts: int | None = None
    conversations: int | None = None
    notes: list[str] = field(default_factory=list)

    def add(self, result: dict[str, Any], usage: Usage, latencies: list[float]) -> None:
        self.seconds += float(result["seconds"])
        self.requests += int(result["requests"])
        self.completed_total += int(result["completed_total"])
        self.errors += int(result["errors"])
        for status, n in result["statuses"].items():
            self.statuses[status] = self.statuses.get(status, 0) + int(n)
        self.error_samples.extend(result["error_samples"][: 5 - len(self.error_samples)])
        self.acked_unique += int(result["acked_unique"])  # ids differ between rounds (run tag)
        self.redeliveries_acked += int(result["redeliveries_acked"])
        self.latencies.extend(latencies)
        self.usage.add(usage)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else NAN

    def percentile_ms(self, q: float) -> float:
        lat = sorted(self.latencies)
        if not lat:
            return NAN
        return lat[min(len(lat) - 1, round(q * (len(lat) - 1)))] * 1000

    @property
    def cpu_ms_per_msg(self) -> float:
        """Server CPU per answered request: unlike msgs/s, barely moved by other load on the machine."""
        return self.usage.server / self.completed_total * 1000 if self.completed_total else NAN


# -- processes ---------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    # Only this run's settings: a developer's CROCEVIA_* variables must not leak into the targets.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROCEVIA_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


@contextmanager
def server_process(cmd: list[str], env: dict[str, str], port: int, log_path: Path,
                   health: str | None = "/healthz") -> Iterator[subprocess.Popen[bytes]]:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_ready(proc, port, health, log_path)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, health: str | None, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
        try:
            if health is None:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return
            if httpx.get(f"http://127.0.0.1:{port}{health}", timeout=1).status_code == 200:
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start:\n{log_path.read_text()[-3000:]}")


def rss_mb(pid: int) -> float:
    return psutil.Process(pid).memory_info().rss / 2**20


def cpu_seconds(pid: int) -> float:
    t = psutil.Process(pid).cpu_times()
    return float(t.user + t.system)


def _machine_busy() -> float:
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0)
                 + getattr(t, "steal", 0.0))


def run_load(opts: Options, target: Target, *, duration: float, run_tag: str, seed: int,
             tmp: Path) -> tuple[dict[str, Any], Usage, list[float]]:
    """One load-generator run in its own process: its result, who used the CPU, the latencies."""
    samples = tmp / f"latencies-{run_tag}.bin"
    cmd = [sys.executable, "-m", "bench.loadgen", "--port", str(target.port), "--public-id", target.public_id,
           "--secret", CREDS["webhook_secret"], "--connections", str(opts.connections),
           "--warmup", str(opts.warmup), "--duration", str(duration), "--run-tag", run_tag, "--seed", str(seed),
           "--latencies-out", str(samples)]
    if target.path:
        cmd += ["--path", target.path]
    cmd += ["--mode", target.mode]
    server0, machine0, t0 = cpu_seconds(target.pid), _machine_busy(), time.perf_counter()
    done = subprocess.run(cmd, env=_clean_env({}), cwd=ROOT, capture_output=True, check=False,
                          timeout=duration + opts.warmup + 120)
    usage = Usage(wall=time.perf_counter() - t0, server=cpu_seconds(target.pid) - server0,
                  machine=_machine_busy() - machine0)
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{done.stderr.decode()[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    usage.loadgen = float(result["cpu_seconds"])
    latencies = array("d")
    with open(samples, "rb") as f:
        latencies.frombytes(f.read())
    samples.unlink()
    return result, usage, list(latencies)


# -- targets -----------------------------------------------------------------------------------
def bench_ceiling(opts: Options, tmp: Path) -> Target:
    port = free_port()
    target = Target("loadgen ceiling (no-op server)",
                    [sys.executable, "-m", "bench.loadgen", "--sink-server", str(port)], _clean_env({}), port,
                    tmp / "sink.log", path="/sink")
    with server_process(target.cmd, target.env, port, target.log, health=None) as proc:
        target.pid = proc.pid
        target.add(*run_load(opts, target, duration=min(opts.duration, 5.0), run_tag="sink", seed=0, tmp=tmp))
    return target


def baseline_target(tmp: Path) -> Target:
    port = free_port()
    db = tmp / "baseline.db"
    return Target("baseline: bare insert, SQLite",
                  [sys.executable, "-m", "bench.baseline_app", "--db", str(db), "--port", str(port)],
                  _clean_env({}), port, tmp / "baseline.log", path="/bare/sandbox", database_url=str(db))


def hub_target(tmp: Path, name: str, database_url: str, *, module: str = "crocevia.cli") -> Target:
    data_dir = tmp / name.replace(" ", "_").replace(",", "")
    data_dir.mkdir()
    public_id, channel_id = _prepare_hub_db(database_url, data_dir)
    port = free_port()
    env = _clean_env({
        "CROCEVIA_DATABASE_URL": database_url,
        "CROCEVIA_DATA_DIR": str(data_dir),
        "CROCEVIA_SECRET_KEY": SECRET_KEY,
        "CROCEVIA_PUBLIC_URL": f"http://127.0.0.1:{port}",
    })
    return Target(name, [sys.executable, "-m", module, "serve", "--port", str(port)], env, port,
                  data_dir / "hub.log", public_id=public_id, database_url=database_url, channel_id=channel_id)


def _prepare_hub_db(database_url: str, data_dir: Path) -> tuple[str, int]:
    """Migrate, create a workspace and a sandbox channel; returns (public id, channel id)."""
    from crocevia.domain.enums import Role
    from crocevia.runtime import Runtime
    from crocevia.services import accounts, channels
    from crocevia.services.actor import Actor
    from crocevia.settings import Settings
    from crocevia.storage.migrate import upgrade

    settings = Settings(data_dir=data_dir, database_url=database_url, secret_key=SECRET_KEY)
    rt = Runtime.from_settings(settings)
    try:
        upgrade(rt.db)
        ws, owner = accounts.create_workspace(rt, slug="bench", name="Bench", owner_email="owner@bench.test",
                                              owner_password="password-123")
        actor = Actor(workspace_id=ws.id, user_id=owner.id, role=Role.OWNER)
        channel = channels.create_channel(rt, actor, kind="sandbox", name="Sandbox", credentials=CREDS)
        return channel.public_id, channel.id
    finally:
        rt.close()


def check_baseline(t: Target) -> None:
    with sqlite3.connect(t.database_url) as conn:
        t.stored = int(conn.execute("SELECT count(*) FROM raw_webhooks").fetchone()[0])
    answered_ok = sum(n for status, n in t.statuses.items() if status.startswith("2"))
    if t.stored != answered_ok:
        t.notes.append(f"baseline stored {t.stored} rows for {answered_ok} 2xx answers")


def check_hub(t: Target) -> None:
    """Every acknowledged provider message id is stored, once."""
    from sqlalchemy import create_engine, text

    engine = create_engine(t.database_url)
    try:
        with engine.connect() as conn:
            msgs, distinct = conn.execute(text(
                "SELECT count(*), count(DISTINCT provider_message_id) FROM messages "
                "WHERE channel_id = :c AND direction = 'in'"), {"c": t.channel_id}).one()
            contacts = conn.execute(text("SELECT count(*) FROM contacts")).scalar_one()
            convs = conn.execute(text("SELECT count(*) FROM conversations WHERE channel_id = :c"),
                                 {"c": t.channel_id}).scalar_one()
    finally:
        engine.dispose()
    t.stored, t.contacts, t.conversations = int(msgs), int(contacts), int(convs)
    if msgs != distinct:
        t.notes.append(f"IDEMPOTENCY BROKEN: {msgs} rows for {distinct} provider message ids")
    if msgs != t.acked_unique:
        t.notes.append(f"STORED != ACKNOWLEDGED: {msgs} rows, {t.acked_unique} acknowledged ids")


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    import psycopg

    try:
        with psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3) as c:
            c.execute("SELECT 1")
    except Exception as exc:  # any failure means: skip, and say why
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first_line}"
    return None


@contextmanager
def private_pg_schema() -> Iterator[str]:
    from sqlalchemy import create_engine, text

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_ADMIN_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def measure(opts: Options, targets: list[Target], floors: list[tuple[Target, Target]], tmp: Path) -> None:
    """Start every target, then load them in interleaved rounds; idle RSS before and after;
    then each web floor (requests that never reach the database) once, on the running servers."""
    with ExitStack() as stack:
        for t in targets:
            t.pid = stack.enter_context(server_process(t.cmd, t.env, t.port, t.log)).pid
        time.sleep(1.0)
        for t in targets:
            t.rss_idle_mb = rss_mb(t.pid)
        per_round = opts.duration / opts.rounds
        for r in range(opts.rounds):
            for t in targets:
                print(f"ingest: round {r + 1}/{opts.rounds}: {t.name} ...", flush=True)
                t.add(*run_load(opts, t, duration=per_round, run_tag=f"r{r}-{uuid.uuid4().hex[:6]}", seed=r + 1,
                                tmp=tmp))
        time.sleep(2.0)
        for t in targets:
            t.rss_after_mb = rss_mb(t.pid)
        for floor, server in floors:
            print(f"ingest: {floor.name} ...", flush=True)
            floor.port, floor.pid, floor.public_id = server.port, server.pid, server.public_id
            floor.add(*run_load(opts, floor, duration=per_round, run_tag="floor", seed=0, tmp=tmp))


# -- report ------------------------------------------------------------------------------------
def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def _pct(x: float) -> str:
    return "-" if x != x else f"{x * 100:.0f}%"


def _signed_pct(x: float) -> str:
    return "-" if x != x else f"{x * 100:+.1f}%"


def _mb(x: float) -> str:
    return "-" if x != x else f"{x:.1f}"


def floor_target(name: str, mode: str, path: str | None = None) -> Target:
    return Target(name, [], {}, 0, Path(), path=path, mode=mode)


def report(ceiling: Target, baseline: Target, hubs: list[Target], floors: list[Target], opts: Options,
           skipped: list[str]) -> str:
    rows = [ceiling, baseline, *hubs]
    out = [f"== Ingest benchmark: {opts.connections} keep-alive connections; {opts.duration:.0f} s measured per "
           f"target in {opts.rounds} interleaved rounds (each after {opts.warmup:.1f} s of warm-up); "
           f"{os.cpu_count()} CPU cores; Python {sys.version.split()[0]}"]
    perf = []
    for t in rows:
        ratio = _pct(t.rps / baseline.rps) if t in hubs and baseline.rps else "-"
        perf.append([t.name, f"{t.rps:,.0f}", f"{t.percentile_ms(0.50):.2f}", f"{t.percentile_ms(0.99):.2f}",
                     str(t.errors), ratio, f"{t.cpu_ms_per_msg:.3f}"])
    out.append(_table(["target", "msgs/s", "p50 ms", "p99 ms", "errors", "vs baseline", "server CPU ms/msg"], perf))

    cpu = [[t.name, f"{t.usage.wall:.1f}", _pct(t.usage.server / t.usage.wall), _pct(t.usage.loadgen / t.usage.wall),
            _pct(t.usage.others / t.usage.wall)] for t in rows]
    out.append(f"\n-- CPU while each target was loaded, in % of one core ({os.cpu_count()} cores; "
               "'other processes' is everything else running on the machine meanwhile)")
    out.append(_table(["target", "seconds", "server", "load generator", "other processes"], cpu))

    if hubs:
        checks = [[t.name, str(t.completed_total), str(t.acked_unique), str(t.redeliveries_acked), str(t.stored),
                   str(t.contacts), str(t.conversations)] for t in hubs]
        out.append("\n-- Stored vs acknowledged (each acknowledged message id stored once; re-deliveries add nothing)")
        out.append(_table(["target", "answers", "acked ids", "re-deliveries acked", "stored msgs", "contacts",
                           "conversations"], checks))

    if floors:
        out.append("\n-- Web floor, measured once after the rounds on the same servers: requests that never reach "
                   "the database")
        out.append(_table(["target", "req/s", "p50 ms", "p99 ms", "errors", "server CPU ms/req"],
                          [[t.name, f"{t.rps:,.0f}", f"{t.percentile_ms(0.50):.2f}", f"{t.percentile_ms(0.99):.2f}",
                            str(t.errors), f"{t.cpu_ms_per_msg:.3f}"] for t in floors]))

    mem = [[t.name, _mb(t.rss_idle_mb), _mb(t.rss_after_mb)] for t in (baseline, *hubs)]
    out.append("\n-- Server RSS (MiB) while idle: after start-up, and 2 s after the last round")
    out.append(_table(["target", "after start-up", "after load"], mem))

    for t in (*rows, *floors):
        for note in t.notes:
            out.append(f"!! {t.name}: {note}")
        if t.errors:
            out.append(f"!! {t.name}: {t.errors} errors: statuses {t.statuses}, e.g. {t.error_samples}")
    for s in skipped:
        out.append(f"-- SKIPPED: {s}")

    sqlite_hub = next((t for t in hubs if t.name == "hub sqlite"), None)
    no_dlp = next((t for t in hubs if t.name == NO_DLP), None)
    if sqlite_hub and no_dlp:
        out.append("\n-- Cost of data-leak protection on ingest (issue 4: under 5%): 'hub sqlite' against "
                   f"'{NO_DLP}' in the same run")
        out.append(_table(["measure", "DLP on", "DLP off", "added by DLP"], [
            ["server CPU ms/msg", f"{sqlite_hub.cpu_ms_per_msg:.3f}", f"{no_dlp.cpu_ms_per_msg:.3f}",
             _signed_pct(sqlite_hub.cpu_ms_per_msg / no_dlp.cpu_ms_per_msg - 1)],
            ["time per msg (1 / msgs/s)", f"{1000 / sqlite_hub.rps:.3f} ms", f"{1000 / no_dlp.rps:.3f} ms",
             _signed_pct(no_dlp.rps / sqlite_hub.rps - 1)],
        ]))
    if sqlite_hub and baseline.rps:
        share = sqlite_hub.rps / baseline.rps
        verdict = "meets" if share >= BAR else "is BELOW"
        out.append(f"\nFull pipeline on SQLite = {share * 100:.1f}% of the bare-insert baseline: {verdict} the "
                   f"issue's bar of {BAR * 100:.0f}%.")
        cpu_ratio = baseline.cpu_ms_per_msg / sqlite_hub.cpu_ms_per_msg
        out.append(f"By server CPU per message (what a quiet machine would show): {cpu_ratio * 100:.1f}%.")
    pg = next((t for t in hubs if t.name == "hub postgres"), None)
    if pg and baseline.rps:
        out.append(f"Full pipeline on PostgreSQL = {pg.rps / baseline.rps * 100:.1f}% of the same baseline "
                   f"(by CPU per message: {baseline.cpu_ms_per_msg / pg.cpu_ms_per_msg * 100:.1f}%).")
    return "\n".join(out)


def main(opts: Options | None = None) -> tuple[bool, str]:
    """Run every target; returns (all checks passed, the report)."""
    opts = opts or Options()
    tmp = Path(tempfile.mkdtemp(prefix="crocevia-bench-"))
    skipped: list[str] = []
    try:
        print("ingest: load generator ceiling ...", flush=True)
        ceiling = bench_ceiling(opts, tmp)
        baseline = baseline_target(tmp)
        hubs = [hub_target(tmp, "hub sqlite", f"sqlite:///{tmp / 'hub.db'}")]
        if opts.dlp_off:
            hubs.append(hub_target(tmp, NO_DLP, f"sqlite:///{tmp / 'hub-no-dlp.db'}", module="bench.hub_without_dlp"))
        with ExitStack() as stack:
            why = postgres_reachable() if opts.postgres else "disabled with --no-postgres"
            if why is None:
                hubs.append(hub_target(tmp, "hub postgres", stack.enter_context(private_pg_schema())))
            else:
                skipped.append(f"hub on PostgreSQL (127.0.0.1:5432, database test): {why}")
            floors = [(floor_target("baseline app: GET /healthz", "get", "/healthz"), baseline),
                      (floor_target("hub: signed webhook, zero events", "empty"), hubs[0])]
            measure(opts, [baseline, *hubs], floors, tmp)
            check_baseline(baseline)
            for hub in hubs:
                check_hub(hub)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = report(ceiling, baseline, hubs, [f for f, _ in floors], opts, skipped)
    ok = all(not t.notes and not t.errors for t in (ceiling, baseline, *hubs, *(f for f, _ in floors)))
    return ok, text
