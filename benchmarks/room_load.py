"""Load test of the examination room: many proponent reviewers filing challenges at once.

    python benchmarks/room_load.py --warehouse URL --data-dir DIR [--reviewers 150]
        [--duration 180] [--think 5] [--ramp 30] [--challenge-share 0.5] [--resend-share 0.05]
        [--petition la-2022-da-recall] [--port 0] [--json PATH]

The warehouse holds a published run of `--data-dir` (`recall-audit run`), on PostgreSQL. The
script starts the room as its own process, the way it is served (`recall-audit room
--insecure-cookies`, one uvicorn process), creates `--reviewers` proponent accounts bound to the
petition (named `load-<run>-<n>`, disabled again at the end) and lets each work as a person would
in a browser: sign in (the logins spread over `--ramp` seconds), then, until `--duration` has
passed, ask for the next line, read it for a think time drawn uniformly from half to one and a
half times `--think` seconds, and file a challenge on a ground offered for the line's reason
(`--challenge-share` of the lines that offer one) or pass it. A share of the forms
(`--resend-share`) is sent twice at once, as a double click sends it. The room sends its entries
to `--data-dir` as in use (`--send-every`), so point it at a data directory that may receive
them.

Prints each kind of request's count and latency (p50 / p95 / p99 / max, measured by the client
from sending the request to reading the whole response, on loopback), the figures of all pages
(signing in and static files reported apart), the throughput, the room process's peak RSS and
CPU time, and the accounting, checked against the room's tables:

- every challenge or pass the room confirmed (a 303 to the next line) has exactly one row, by
  its form's entry id, with the line and the reviewer the form named: none lost, none doubled;
- no row of the run's reviewers exists that no form sent;
- no line was handed to two reviewers while both held it (from being handed it to sending its
  entry), and no line holds entries of two reviewers;
- every line page served is in the access log.

Exit status 1 when the accounting fails, 2 when the room could not be run; the latencies are a
report, never a pass or a fail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import sqlalchemy as sa

from recall_pipeline.room.accounts import Role, hash_password
from recall_pipeline.room.published import LEASE
from recall_pipeline.room.store import RoomStore
from recall_pipeline.warehouse import Warehouse

PETITION = "la-2022-da-recall"
# Pages a reviewer waits for; signing in (two requests, one Argon2 verification) and the
# static files a browser caches after the first page are reported apart.
PAGE_KINDS = ("home", "petition", "next", "line", "challenge", "pass")
APART_KINDS = ("login-form", "login", "static")
# A reviewer whose request failed tries again after this pause, as a person would reload.
RETRY_PAUSE = 2.0
EVIDENCE = {
    "SIGNER_REGISTERED": "found in the roll under a maiden name",
    "ANOTHER_REGISTRATION": "the written birth year fits the other registration",
    "MOVED_DURING_CIRCULATION": "moved in May; the new registration is in the county",
    "ADDRESS_ON_FILE_MATCHES": "apartment number written without the unit type",
    "SIGNATURE_COMPARES": "compares with the 2020 signature on file",
    "NO_LINE_OF_VOTER_COUNTED": "the voter's other line was rejected too",
}

_FIELD = re.compile(r'name="(csrf_token|entry_id)" value="([^"]*)"')
_GROUND = re.compile(r'name="ground" value="([^"]+)"[^>]*data-needs-voter="([yn])"')
_LINE_PATH = re.compile(r"/p/[^/]+/lines/([^/]+)/(\d+)/(\d+)$")


@dataclass
class Post:
    """One form sent: what the room must hold for it afterwards."""

    username: str
    kind: str  # "challenge" or "pass"
    entry_id: str
    key: tuple[str, int, int]
    status: int | None  # None: no answer (an error or a timeout)
    location: str = ""

    @property
    def confirmed(self) -> bool:
        # The room sends the reviewer on to the next line only once the entry is written; a
        # refused form comes back to its line with ?error=.
        return self.status == 303 and self.location.endswith("/next")

    @property
    def row_id(self) -> str:
        return f"room-{self.entry_id}" if self.kind == "challenge" else self.entry_id


@dataclass
class Hold:
    username: str
    key: tuple[str, int, int]
    handed_at: float  # the line's address received
    released_at: float | None = None  # its entry sent


@dataclass
class Record:
    # Each request's start (monotonic seconds) and latency, by kind.
    latencies: dict[str, list[tuple[float, float]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    unexpected: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    posts: list[Post] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    lines_served: Counter = field(default_factory=Counter)
    resent: int = 0
    exhausted: int = 0


class Reviewer:
    def __init__(
        self, args, username: str, password: str, base: str, record: Record, seed: int
    ) -> None:
        self.args = args
        self.username = username
        self.password = password
        self.record = record
        self.random = random.Random(seed)
        # One client a reviewer: its own cookies and keep-alive connections, as a browser.
        self.client = httpx.AsyncClient(
            base_url=base, follow_redirects=False, timeout=httpx.Timeout(60.0)
        )

    async def request(self, kind: str, method: str, url: str, expect: int, **kw):
        started = time.monotonic()
        try:
            response = await self.client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            self.record.errors[(kind, type(exc).__name__)] += 1
            return None
        self.record.latencies[kind].append((started, time.monotonic() - started))
        if response.status_code != expect:
            self.record.unexpected[(kind, response.status_code)] += 1
        return response

    async def sign_in(self) -> bool:
        form = await self.request("login-form", "GET", "/login", 200)
        token = _field_value(form.text, "login_token") if form is not None else None
        if token is None:
            return False
        data = {"username": self.username, "password": self.password, "login_token": token}
        signed = await self.request("login", "POST", "/login", 303, data=data)
        if signed is None or signed.status_code != 303:
            return False
        home = await self.request("home", "GET", "/", 303)
        if home is None:
            return False
        await self.request("petition", "GET", home.headers.get("location", "/"), 200)
        for asset in ("/static/room.css", "/static/room.js"):
            await self.request("static", "GET", asset, 200)
        return True

    async def run(self, start_at: float, end_at: float) -> None:
        try:
            await asyncio.sleep(max(0.0, start_at - time.monotonic()))
            while not await self.sign_in():
                if time.monotonic() >= end_at:
                    return
                await asyncio.sleep(RETRY_PAUSE)
            while time.monotonic() < end_at:
                if not await self.one_line(end_at):
                    await asyncio.sleep(RETRY_PAUSE)
        finally:
            await self.client.aclose()

    async def one_line(self, end_at: float) -> bool:
        """Ask for a line, read it, file or pass it: False if something failed on the way."""
        pid = self.args.petition
        handed = await self.request("next", "GET", f"/p/{pid}/next", 303)
        if handed is None or handed.status_code != 303:
            return False
        location = handed.headers.get("location", "")
        found = _LINE_PATH.search(location)
        if found is None:
            # Every line is examined: nothing left to hand out.
            self.record.exhausted += 1
            await asyncio.sleep(max(0.0, end_at - time.monotonic()))
            return True
        key = (found.group(1), int(found.group(2)), int(found.group(3)))
        hold = Hold(self.username, key, time.monotonic())
        self.record.holds.append(hold)
        page = await self.request("line", "GET", location, 200)
        if page is None or page.status_code != 200:
            return False
        self.record.lines_served[self.username] += 1
        fields = dict(_FIELD.findall(page.text))
        if "csrf_token" not in fields or "entry_id" not in fields:
            self.record.unexpected[("line", "no form")] += 1
            return False
        think = self.args.think * self.random.uniform(0.5, 1.5)
        await asyncio.sleep(think)
        kind, data = self.decide(page.text, fields)
        url = f"{location}/{kind}"
        hold.released_at = time.monotonic()
        resend = self.random.random() < self.args.resend_share
        sends = [self.post(kind, url, data, key) for _ in range(2 if resend else 1)]
        self.record.resent += int(resend)
        answers = await asyncio.gather(*sends)
        return any(a is not None and a.confirmed for a in answers)

    def decide(self, html: str, fields: dict[str, str]) -> tuple[str, dict[str, str]]:
        data = {"csrf_token": fields["csrf_token"], "entry_id": fields["entry_id"]}
        # The page offers the grounds of the line's reason only; some reasons have none.
        grounds = _GROUND.findall(html)
        if not grounds or self.random.random() >= self.args.challenge_share:
            return "pass", data
        ground, needs_voter = self.random.choice(grounds)
        data["ground"] = ground
        data["evidence"] = EVIDENCE.get(ground, "")
        # The registration the reviewer says is the signer's, as read off the county's roll.
        data["claimed_voter_id"] = (
            f"LA{self.random.randrange(10**8):08d}" if needs_voter == "y" else ""
        )
        return "challenge", data

    async def post(self, kind: str, url: str, data: dict[str, str], key) -> Post:
        response = await self.request(kind, "POST", url, 303, data=data)
        sent = Post(
            self.username,
            kind,
            data["entry_id"],
            key,
            response.status_code if response is not None else None,
            response.headers.get("location", "") if response is not None else "",
        )
        self.record.posts.append(sent)
        return sent


def _field_value(html: str, name: str) -> str | None:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    return found.group(1) if found else None


# -- the room's process ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_room(args, port: int, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).with_name("recall-audit")),
        "room",
        "--data-dir",
        str(args.data_dir),
        "--warehouse",
        args.warehouse,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--insecure-cookies",
        "--send-every",
        str(args.send_every),
    ]
    print("room:", " ".join(command[1:]).replace(args.warehouse, _masked(args.warehouse)))
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the room stopped at start (exit {process.returncode}): see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the room did not answer within 120 s: see {log}")


def process_figures(pid: int) -> dict[str, float]:
    """The process's peak resident set (VmHWM) and CPU seconds so far, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kib = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"peak_rss_mib": peak_kib / 1024, "cpu_s": (int(stat[11]) + int(stat[12])) / ticks}


def stop_room(process: subprocess.Popen) -> int:
    # SIGINT: uvicorn shuts down the way Ctrl-C does, and the room sends its last entries.
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(120)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def _masked(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True)


# -- accounts and accounting -------------------------------------------------------------------


def create_accounts(store: Warehouse, petition: str, count: int) -> tuple[list[str], str]:
    """`count` reviewers of `petition` and their password, new to this run (the accounts of a
    run stopped before its end are left behind enabled, so none has a password known beyond
    it)."""
    room = RoomStore(store)
    room.create_tables()
    run = secrets.token_hex(3)
    password = secrets.token_urlsafe(18)
    # One hash for all: the room verifies it at every sign-in all the same.
    hashed = hash_password(password)
    names = [f"load-{run}-{n:03d}" for n in range(1, count + 1)]
    for name in names:
        room.add_account(name, Role.PROPONENT, petition, hashed)
    return names, password


def disable_accounts(store: Warehouse, names: list[str]) -> None:
    room = RoomStore(store)
    for name in names:
        room.set_disabled(name, True)


def account(store: Warehouse, names: list[str], record: Record, end: float) -> dict[str, int]:
    """What the room's tables hold for the run's reviewers, against what they sent."""
    users = sa.bindparam("users", expanding=True)
    with store.begin() as conn:
        rows = {
            "challenge": conn.execute(
                sa.text(
                    "SELECT challenge_id AS id, section_id, page, line, filed_by AS who "
                    "FROM room_challenges WHERE filed_by IN :users"
                ).bindparams(users),
                {"users": names},
            ).all(),
            "pass": conn.execute(
                sa.text(
                    "SELECT pass_id AS id, section_id, page, line, passed_by AS who "
                    "FROM room_passes WHERE passed_by IN :users"
                ).bindparams(users),
                {"users": names},
            ).all(),
        }
        views = conn.execute(
            sa.text(
                "SELECT username, count(*) FROM room_access_log "
                "WHERE username IN :users AND action = 'view-line' GROUP BY username"
            ).bindparams(users),
            {"users": names},
        ).all()
    held: dict[str, Counter] = {kind: Counter(r.id for r in found) for kind, found in rows.items()}
    by_id = {(kind, r.id): r for kind, found in rows.items() for r in found}
    sent = {(p.kind, p.row_id) for p in record.posts}
    confirmed: dict[tuple[str, str], Post] = {}
    for p in record.posts:
        if p.confirmed:
            confirmed[(p.kind, p.row_id)] = p
    refused = {(p.kind, p.row_id) for p in record.posts if p.status is not None} - set(confirmed)
    out = Counter()
    for (kind, row_id), p in confirmed.items():
        n = held[kind][row_id]
        if n == 0:
            out["lost"] += 1
        elif n > 1:
            out["doubled"] += 1
        else:
            row = by_id[(kind, row_id)]
            if (row.section_id, int(row.page), int(row.line)) != p.key or row.who != p.username:
                out["wrong line or reviewer"] += 1
    for kind, counts in held.items():
        for row_id, n in counts.items():
            if (kind, row_id) not in sent:
                out["rows no form sent"] += n
            elif (kind, row_id) in refused:
                out["rows of refused forms"] += n
            elif (kind, row_id) not in confirmed:
                # Sent, never answered (a timeout): kept, and reported, but no loss.
                out["rows of unanswered forms"] += n
    entered: dict[tuple, list[str]] = defaultdict(list)
    for found in rows.values():
        for r in found:
            entered[(r.section_id, int(r.page), int(r.line))].append(r.who)
    # A line done is handed out no more: its one entry is the only one.
    out["lines entered twice"] = sum(len(w) > 1 for w in entered.values())
    out["lines with entries of two reviewers"] = sum(len(set(w)) > 1 for w in entered.values())
    handed: dict[tuple, list[Hold]] = defaultdict(list)
    for h in record.holds:
        handed[h.key].append(h)
    lease = LEASE.total_seconds()
    overlapping = 0
    shared = 0
    for holds in handed.values():
        if len({h.username for h in holds}) < 2:
            continue
        shared += 1
        spans = sorted(
            (h.handed_at, h.released_at or min(end, h.handed_at + lease), h.username) for h in holds
        )
        if any(b[0] < a[1] and a[2] != b[2] for a, b in zip(spans, spans[1:], strict=False)):
            overlapping += 1
    out["lines handed to two reviewers holding them"] = overlapping
    out["lines handed to two reviewers"] = shared
    logged = sum(n for _, n in views)
    out["line pages not in the access log"] = max(0, sum(record.lines_served.values()) - logged)
    out["confirmed entries"] = len(confirmed)
    out["rows"] = sum(sum(c.values()) for c in held.values())
    return dict(out)


FAILURES = (
    "lost",
    "doubled",
    "wrong line or reviewer",
    "rows no form sent",
    "rows of refused forms",
    "lines entered twice",
    "lines with entries of two reviewers",
    "lines handed to two reviewers holding them",
    "line pages not in the access log",
)


# -- the report --------------------------------------------------------------------------------


def figures(timed: list[tuple[float, float]]) -> dict[str, float]:
    ms = np.asarray([seconds for _, seconds in timed]) * 1000
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    return {"n": len(ms), "p50": p50, "p95": p95, "p99": p99, "max": ms.max()}


def report(record: Record, started: float, elapsed: float, server, client_cpu: float) -> dict:
    rows = {}
    pages = [t for k in PAGE_KINDS for t in record.latencies.get(k, [])]
    # Once everyone is signed in: the pages without the sign-ins' Argon2 beside them.
    signed_in = max((t + s for t, s in record.latencies.get("login", [])), default=started)
    for kind in PAGE_KINDS:
        if record.latencies.get(kind):
            rows[kind] = figures(record.latencies[kind])
    if pages:
        rows["all pages"] = figures(pages)
    steady = [(t, s) for t, s in pages if t >= signed_in]
    if steady:
        rows["after sign-ins"] = figures(steady)
    for kind in APART_KINDS:
        if record.latencies.get(kind):
            rows[kind] = figures(record.latencies[kind])
    print(f"\n{'kind':<16}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for kind, f in rows.items():
        print(
            f"{kind:<16}{f['n']:>9,}{f['p50']:>9.1f}{f['p95']:>9.1f}{f['p99']:>9.1f}"
            f"{f['max']:>9.1f}"
        )
    print(
        "'all pages': the kinds above it; 'after sign-ins': those pages asked for after the "
        f"last sign-in ended ({signed_in - started:.0f} s in); signing in and the static files "
        "(fetched once, then cached by a browser) are apart"
    )
    total = sum(len(v) for v in record.latencies.values())
    examined = len({p.row_id for p in record.posts if p.confirmed})
    print(
        f"\nthroughput: {total / elapsed:.1f} requests/s, {len(pages) / elapsed:.1f} pages/s, "
        f"{examined / elapsed * 60:.0f} lines examined a minute over {elapsed:.0f} s"
    )
    if server:
        print(
            f"room process: peak RSS {server['peak_rss_mib']:.0f} MiB, CPU "
            f"{server['cpu_s']:.1f} s ({server['cpu_s'] / elapsed:.0%} of a core)"
        )
    print(f"load client: CPU {client_cpu:.1f} s")
    if record.unexpected or record.errors:
        print("unexpected answers:", dict(record.unexpected), "errors:", dict(record.errors))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", required=True, help="PostgreSQL URL of a published run")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--petition", default=PETITION)
    parser.add_argument("--reviewers", type=int, default=150)
    parser.add_argument("--duration", type=float, default=180.0, help="seconds of review")
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds on a line")
    parser.add_argument("--ramp", type=float, default=30.0, help="seconds the sign-ins spread")
    parser.add_argument("--challenge-share", type=float, default=0.5)
    parser.add_argument("--resend-share", type=float, default=0.05)
    parser.add_argument("--send-every", type=float, default=60.0, help="the room's own option")
    parser.add_argument("--port", type=int, default=0, help="0: a free one")
    parser.add_argument(
        "--url",
        help="load a room already served there instead of starting one (for profiling it in "
        "a process of one's own; its RSS and CPU are then not reported)",
    )
    parser.add_argument("--seed", type=int, default=20220706)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if not args.warehouse.startswith("postgresql"):
        parser.error("--warehouse: the load test is of the room on PostgreSQL")

    store = Warehouse(args.warehouse)
    names, password = create_accounts(store, args.petition, args.reviewers)
    print(f"{len(names)} reviewers {names[0]} … {names[-1]} on {args.petition}")
    try:
        return load(args, store, names, password)
    finally:
        disable_accounts(store, names)
        store.dispose()


def load(args, store: Warehouse, names: list[str], password: str) -> int:
    log = Path(tempfile.mkdtemp(prefix="room-load-")) / "room.log"
    port = args.port or free_port()
    base = args.url or f"http://127.0.0.1:{port}"
    try:
        process = None if args.url else start_room(args, port, log)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 2
    record = Record()
    load_before = os.getloadavg()[0]
    try:
        before = process_figures(process.pid) if process else None
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.monotonic()
        end_at = started + args.duration
        reviewers = [
            Reviewer(args, name, password, base, record, args.seed + i)
            for i, name in enumerate(names)
        ]

        async def everyone() -> None:
            await asyncio.gather(
                *(
                    r.run(started + args.ramp * i / len(reviewers), end_at)
                    for i, r in enumerate(reviewers)
                )
            )

        asyncio.run(everyone())
        elapsed = time.monotonic() - started
        after = process_figures(process.pid) if process else None
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        load_after = os.getloadavg()[0]
    finally:
        code = stop_room(process) if process else None
    server = (
        {"peak_rss_mib": after["peak_rss_mib"], "cpu_s": after["cpu_s"] - before["cpu_s"]}
        if process
        else None
    )
    client_cpu = (cpu_after.ru_utime + cpu_after.ru_stime) - (
        cpu_before.ru_utime + cpu_before.ru_stime
    )
    print(
        f"\n{args.reviewers} reviewers, {args.duration:.0f} s, think {args.think} s "
        f"(uniform ×0.5–1.5), sign-ins over {args.ramp:.0f} s; room exit {code}, log {log}"
    )
    # The machine's other work shows in the figures: say how busy it was.
    print(
        f"{os.cpu_count()} cores; load average {load_before:.1f} before the load, "
        f"{load_after:.1f} at its end"
    )
    latencies = report(record, started, elapsed, server, client_cpu)
    books = account(store, names, record, time.monotonic())
    answered = Counter(p.kind for p in record.posts if p.confirmed)
    print(
        f"\nforms sent: {len(record.posts):,}, {record.resent:,} of them twice at once; "
        f"answered as entered: {answered['challenge']:,} challenges, {answered['pass']:,} "
        f"passes; not: {len(record.posts) - answered.total():,}"
    )
    for name, value in books.items():
        mark = "  FAIL" if name in FAILURES and value else ""
        print(f"  {name:<45}{value:>8,}{mark}")
    failed = [name for name in FAILURES if books.get(name)]
    if not books.get("confirmed entries"):
        # A room that answered nothing loses nothing: no figure to stand on.
        failed.append("no entry confirmed")
    print("accounting:", "FAILED: " + ", ".join(failed) if failed else "every form accounted for")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "settings": {k: str(v) for k, v in vars(args).items()},
                    "latency_ms": latencies,
                    "server": server,
                    "elapsed_s": elapsed,
                    "accounting": books,
                    "failed": failed,
                    "unexpected": {str(k): v for k, v in record.unexpected.items()},
                    "errors": {str(k): v for k, v in record.errors.items()},
                },
                indent=2,
                default=float,
            )
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
