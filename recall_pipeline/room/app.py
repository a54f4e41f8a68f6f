"""The examination room: a web application over the published tables (`recall-audit room`).

Server-rendered pages (Starlette + Jinja2), one line or one challenge at a time. Every request
is written to the access log; every entry is appended to the room's tables and reaches the
pipeline as an input file (`room.exports`) — the room never changes a verdict itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hmac
import logging
import os
import secrets
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from recall_pipeline.room import charts
from recall_pipeline.room.accounts import (
    DECOY_HASH,
    AccountError,
    Role,
    check_new_account,
    hash_password,
    password_matches,
)
from recall_pipeline.room.exports import export_entries
from recall_pipeline.room.published import Published, ReviewOrder
from recall_pipeline.room.store import LineKey, RoomStore, Session, request_connection, utcnow
from recall_pipeline.verify.grounds import challenge_grounds
from recall_pipeline.warehouse import Warehouse

_LOG = logging.getLogger(__name__)
_HERE = Path(__file__).parent
COOKIE = "room_session"
LOGIN_COOKIE = "room_login"
RULINGS = ("ACCEPTED", "REJECTED")
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class RoomSettings:
    warehouse_url: str
    # Where the room's challenge and ruling files go (the pipeline's data directory); None:
    # entries stay in the room's tables until a room with a data directory sends them.
    data_dir: Path | None = None
    idle_timeout: dt.timedelta = dt.timedelta(minutes=30)
    lifetime: dt.timedelta = dt.timedelta(hours=10)
    # Failed logins in the window that lock out a username, and an address.
    failures_per_user: int = 5
    failures_per_address: int = 50
    failure_window: dt.timedelta = dt.timedelta(minutes=15)
    # Seconds between sends of new entries to the data directory (0: only when asked).
    send_every: float = 60.0
    # Cookies marked Secure: on, unless the room is served on loopback for testing.
    secure_cookies: bool = True
    # Threads serving pages, each holding a connection while it serves one. A page is mostly
    # Python run under the interpreter's one lock: more threads would add connections to the
    # database, not pages served (Starlette's default is 40).
    threads: int = 8
    # Sign-ins served at once, on threads of their own (`Room.sign_ins`): an Argon2
    # verification takes 64 MiB and 0.1-0.2 s of CPU, and a burst of sign-ins (a shift
    # starting) would otherwise take every thread and a GiB or two.
    sign_in_threads: int = 2
    clock: Callable[[], dt.datetime] = field(default=utcnow)


class Room:
    """The application's state: its stores and settings."""

    def __init__(self, settings: RoomSettings) -> None:
        self.settings = settings
        # A connection for each thread that serves pages or sign-ins, the sender's, and one for
        # a request that reads apart from its own (the order built, a table looked for).
        self.store = Warehouse(
            settings.warehouse_url, pool_size=settings.threads + settings.sign_in_threads + 2
        )
        self.room = RoomStore(self.store)
        self.room.create_tables()
        self.published = Published(self.store)
        self.order = ReviewOrder(self.published, self.room.examined_keys)
        self.templates = Jinja2Templates(directory=str(_HERE / "templates"))
        self.templates.env.globals["grounds_of"] = grounds_of
        self._stop = threading.Event()
        # Sign-ins wait their turn here rather than on the pages' threads, and run at a lower
        # CPU priority: under a burst of sign-ins the CPU goes to the pages of those already
        # in, and the sign-ins take longer instead.
        self.sign_ins = ThreadPoolExecutor(
            settings.sign_in_threads, "room-sign-in", initializer=_lower_priority
        )

    # -- sessions ----------------------------------------------------------------------------------

    def session_of(self, request: Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        session = self.room.session(token)
        if session is None:
            return None
        now = self.settings.clock()
        if now >= session.expires_at or now - session.last_seen_at > self.settings.idle_timeout:
            self.room.end_session(session.session_id)
            return None
        # Written at most once a minute: the idle clock needs no finer grain.
        if now - session.last_seen_at > dt.timedelta(minutes=1):
            self.room.touch(session.session_id, now)
        return session

    def log(
        self,
        request: Request,
        session: Session | None,
        action: str,
        status: int,
        key: LineKey | None = None,
        challenge_id: str | None = None,
        petition_id: str | None = None,
    ) -> None:
        account = session.account if session else None
        self.room.log_access(
            username=account.username if account else None,
            role=account.role.value if account else None,
            session_ref=session.ref if session else None,
            client_ip=_client(request),
            method=request.method,
            path=request.url.path[:500],
            action=action,
            petition_id=key.petition_id if key else petition_id,
            section_id=key.section_id if key else None,
            page=key.page if key else None,
            line=key.line if key else None,
            challenge_id=challenge_id,
            status_code=status,
        )

    def render(
        self, request: Request, name: str, session: Session | None, code: int = 200, **ctx: Any
    ) -> Response:
        return self.templates.TemplateResponse(
            request,
            name,
            {"session": session, "account": session.account if session else None, **ctx},
            status_code=code,
            headers=_NO_STORE,
        )

    # -- sending entries ---------------------------------------------------------------------------

    def send_entries(self) -> int:
        if self.settings.data_dir is None:
            return 0
        written = export_entries(self.room, self.settings.data_dir)
        for one in written:
            _LOG.info(f"sent {one.rows} {one.kind} to {one.file}")
        return sum(w.rows for w in written)

    def _sender(self) -> None:
        while not self._stop.wait(self.settings.send_every):
            try:
                self.send_entries()
            except Exception:  # the next round tries again; the entries wait in their table
                _LOG.exception("sending the room's entries failed")

    def start(self) -> None:
        """Called in the event loop that serves the room."""
        anyio.to_thread.current_default_thread_limiter().total_tokens = self.settings.threads
        if self.settings.data_dir is not None and self.settings.send_every > 0:
            threading.Thread(target=self._sender, name="room-sender", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self.sign_ins.shutdown()
        try:
            self.send_entries()
        finally:
            self.store.dispose()


def _lower_priority() -> None:
    """Lower the calling thread's CPU priority (Linux, where a thread's niceness is its own and
    the threads Argon2 starts for its lanes inherit it; elsewhere, nothing)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def grounds_of(reason_code: str) -> list[Any]:
    return [g for g in challenge_grounds() if g.reason_code == reason_code]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _key(request: Request) -> LineKey | None:
    p = request.path_params
    try:
        return LineKey(p["petition_id"], p["section_id"], int(p["page"]), int(p["line"]))
    except (KeyError, ValueError):
        return None


class _Denied(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def page(room: Room, action: str, roles: tuple[Role, ...] = ()):
    """An endpoint for signed-in accounts of `roles` (any role when empty): the session and
    role checked, a POST's CSRF token checked, and the request logged with its outcome.

    What a role may not reach answers 404, as a page that does not exist would: a guess at a
    URL learns nothing about what is there."""

    def wrap(handler: Callable[..., Response]):
        async def endpoint(request: Request) -> Response:
            form = await request.form() if request.method == "POST" else None
            return await run_in_threadpool(_serve, request, form)

        def _serve(request: Request, form) -> Response:
            with request_connection(room.store):
                return _serve_on_connection(request, form)

        def _serve_on_connection(request: Request, form) -> Response:
            key = _key(request)
            cid = request.path_params.get("challenge_id")
            pid = request.path_params.get("petition_id")
            session = room.session_of(request)
            if session is None:
                room.log(request, None, f"{action}:signed-out", 401, key, cid, pid)
                if request.method == "GET":
                    return RedirectResponse("/login", status_code=303)
                return PlainTextResponse("Signed out: sign in again.", status_code=401)
            try:
                if roles and session.account.role not in roles:
                    raise _Denied(404, "Not found.")
                if pid is not None and not session.account.may_see_petition(pid):
                    raise _Denied(404, "Not found.")
                if form is not None and not hmac.compare_digest(
                    str(form.get("csrf_token", "")), session.csrf_token
                ):
                    raise _Denied(403, "The form's security token is missing or wrong.")
                response = handler(request, session, form)
            except _Denied as denied:
                room.log(request, session, f"{action}:denied", denied.status, key, cid, pid)
                return room.render(
                    request, "error.html", session, denied.status, message=denied.message
                )
            room.log(request, session, action, response.status_code, key, cid, pid)
            return response

        return endpoint

    return wrap


def create_app(settings: RoomSettings) -> Starlette:
    room = Room(settings)

    def cookie(response: Response, name: str, value: str, max_age: int | None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            secure=settings.secure_cookies,
            samesite="strict",
            path="/",
        )

    # -- signing in ----------------------------------------------------------------------------

    def login_form(request: Request, code: int = 200, error: str | None = None) -> Response:
        """The sign-in form with a fresh one-time token, matched against its cookie."""
        token = secrets.token_urlsafe(24)
        response = room.render(request, "login.html", None, code, login_token=token, error=error)
        cookie(response, LOGIN_COOKIE, token, 600)
        return response

    async def login(request: Request) -> Response:
        if request.method == "GET":
            return login_form(request)
        form = await request.form()
        return await asyncio.wrap_future(room.sign_ins.submit(_login, request, form))

    def _login(request: Request, form) -> Response:
        with request_connection(room.store):
            return _login_on_connection(request, form)

    def _login_on_connection(request: Request, form) -> Response:
        username = str(form.get("username", "")).strip().lower()[:40]
        password = str(form.get("password", ""))
        sent = str(form.get("login_token", ""))
        expected = request.cookies.get(LOGIN_COOKIE, "")
        if not expected or not hmac.compare_digest(sent, expected):
            room.log(request, None, "login:no-token", 403)
            return PlainTextResponse("The sign-in form expired: load it again.", status_code=403)
        since = settings.clock() - settings.failure_window
        by_user, by_ip = room.room.recent_failures(username, _client(request), since)
        if by_user >= settings.failures_per_user or by_ip >= settings.failures_per_address:
            room.log(request, None, "login:throttled", 429)
            minutes = int(settings.failure_window.total_seconds() // 60)
            return login_form(
                request, 429, f"Too many failed sign-ins: wait {minutes} minutes and try again."
            )
        found = room.room.password_hash(username)
        account, stored = found if found else (None, DECOY_HASH)
        ok = password_matches(stored, password) and account is not None and not account.disabled
        room.room.record_attempt(username, _client(request), ok)
        if not ok:
            room.log(request, None, "login:failed", 401)
            return login_form(request, 401, "Wrong username or password.")
        token, _ = room.room.open_session(account, _client(request), settings.lifetime)
        session = room.room.session(token)
        room.log(request, session, "login", 303)
        response = RedirectResponse("/", status_code=303)
        cookie(response, COOKIE, token, int(settings.lifetime.total_seconds()))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    @page(room, "logout")
    def logout(request: Request, session: Session, form) -> Response:
        room.room.end_session(session.session_id)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, path="/")
        return response

    @page(room, "home")
    def home(request: Request, session: Session, form) -> Response:
        account = session.account
        target = {
            Role.PROPONENT: f"/p/{account.petition_id}",
            Role.EXAMINER: "/x",
            Role.OBSERVER: "/dashboard",
            Role.ADMIN: "/admin",
        }[account.role]
        return RedirectResponse(target, status_code=303)

    # -- proponents: the review ------------------------------------------------------------------

    @page(room, "petition", (Role.PROPONENT,))
    def petition_home(request: Request, session: Session, form) -> Response:
        pid = request.path_params["petition_id"]
        left, total = room.order.remaining(pid)
        return room.render(
            request, "petition.html", session, petition_id=pid, left=left, total=total
        )

    @page(room, "next-line", (Role.PROPONENT,))
    def next_line(request: Request, session: Session, form) -> Response:
        pid = request.path_params["petition_id"]
        key = room.order.next_line(pid, session.account.username)
        if key is None:
            return RedirectResponse(f"/p/{pid}", status_code=303)
        return RedirectResponse(_line_url(pid, key), status_code=303)

    def _invalid_line(request: Request) -> tuple[LineKey, dict[str, Any]]:
        key = _key(request)
        line = room.published.examination_line(key) if key else None
        if line is None:
            raise _Denied(404, "Not found.")
        return key, line

    @page(room, "view-line", (Role.PROPONENT,))
    def view_line(request: Request, session: Session, form) -> Response:
        key, line = _invalid_line(request)
        left, total = room.order.remaining(key.petition_id)
        filed = room.room.challenges_of_line(key)
        return room.render(
            request,
            "review.html",
            session,
            key=key,
            line=line,
            grounds=grounds_of(line["reason_code"]),
            filed=filed,
            entry_id=uuid.uuid4().hex,
            left=left,
            total=total,
            error=request.query_params.get("error"),
        )

    @page(room, "file-challenge", (Role.PROPONENT,))
    def file_challenge(request: Request, session: Session, form) -> Response:
        key, line = _invalid_line(request)
        entry_id = _entry_id(form)
        ground = str(form.get("ground", ""))
        offered = {g.ground: g for g in grounds_of(line["reason_code"])}
        claimed = str(form.get("claimed_voter_id", "")).strip()[:64] or None
        evidence = str(form.get("evidence", "")).strip()[:2000] or None
        problem = None
        if ground not in offered:
            problem = "Choose one of the grounds offered for this reason."
        elif offered[ground].needs_voter_id and not claimed:
            problem = "This ground names the registration: give its voter ID."
        if problem:
            return RedirectResponse(
                f"{_line_url(key.petition_id, _tuple(key))}?error={problem}", status_code=303
            )
        room.room.file_challenge(
            f"room-{entry_id}",
            key,
            ground,
            claimed if offered[ground].needs_voter_id else None,
            evidence,
            session,
        )
        room.order.finished(key.petition_id, _tuple(key))
        return RedirectResponse(f"/p/{key.petition_id}/next", status_code=303)

    @page(room, "pass-line", (Role.PROPONENT,))
    def pass_line(request: Request, session: Session, form) -> Response:
        key, _ = _invalid_line(request)
        room.room.pass_line(_entry_id(form), key, session)
        room.order.finished(key.petition_id, _tuple(key))
        return RedirectResponse(f"/p/{key.petition_id}/next", status_code=303)

    # -- examiners: the rulings ------------------------------------------------------------------

    @page(room, "queue", (Role.EXAMINER,))
    def queue(request: Request, session: Session, form) -> Response:
        petitions = []
        for row in room.published.petitions():
            pid = row["petition_id"]
            petitions.append({**row, "open": _waiting(pid)})
        return room.render(request, "queue.html", session, petitions=petitions)

    def _open(pid: str, limit: int) -> list[dict[str, Any]]:
        """Open challenges of the petition, oldest first: the room's, then those filed by file
        (their rulings may be the room's or a file's)."""
        mine = room.room.open_challenges(pid, limit)
        if len(mine) >= limit:
            return mine
        return mine + room.published.unruled_file_challenges(pid, limit - len(mine))

    def _waiting(pid: str) -> int:
        return room.room.count_open(pid) + room.published.count_unruled_file_challenges(pid)

    @page(room, "next-challenge", (Role.EXAMINER,))
    def next_challenge(request: Request, session: Session, form) -> Response:
        pid = request.path_params["petition_id"]
        waiting = _open(pid, 1)
        if not waiting:
            return RedirectResponse("/x", status_code=303)
        return RedirectResponse(f"/x/{pid}/challenges/{waiting[0]['challenge_id']}", 303)

    def _challenge(pid: str, cid: str) -> dict[str, Any]:
        found = room.room.room_challenge(cid)
        if found is not None and found["petition_id"] != pid:
            found = None
        if found is None:
            published = room.published.published_challenge(pid, cid)
            if published is not None:
                ruled = room.room.ruling_of(cid)
                found = {**published, **(ruled or {"ruling": None})}
        if found is None:
            raise _Denied(404, "Not found.")
        if found.get("ruling") is None and room.published.ruled_by_file(pid, cid):
            found["ruling"] = "ruled by file"
        return found

    @page(room, "view-challenge", (Role.EXAMINER,))
    def view_challenge(request: Request, session: Session, form) -> Response:
        pid = request.path_params["petition_id"]
        challenge = _challenge(pid, request.path_params["challenge_id"])
        key = LineKey(pid, challenge["section_id"], int(challenge["page"]), int(challenge["line"]))
        line = room.published.examination_line(key)
        keyed = room.published.line_as_keyed(key)
        candidates = room.published.candidates(key)
        return room.render(
            request,
            "ruling.html",
            session,
            key=key,
            challenge=challenge,
            line=line,
            keyed=keyed,
            claimed=room.published.registration(challenge.get("claimed_voter_id")),
            matched=room.published.registration(line["voter_id"]) if line else None,
            candidates=candidates,
            image=bool(_image_path(key, keyed)),
            # Two accepted rulings on one line that decide it differently are both set aside:
            # the examiner sees the line's other challenges before ruling.
            others=[
                c
                for c in room.room.challenges_of_line(key)
                if c["challenge_id"] != challenge["challenge_id"]
            ],
            waiting=_waiting(pid),
        )

    @page(room, "rule", (Role.EXAMINER,))
    def rule(request: Request, session: Session, form) -> Response:
        pid = request.path_params["petition_id"]
        cid = request.path_params["challenge_id"]
        challenge = _challenge(pid, cid)
        ruling = str(form.get("ruling", ""))
        if ruling not in RULINGS:
            raise _Denied(400, "A ruling is ACCEPTED or REJECTED.")
        if challenge.get("ruling") is not None:
            raise _Denied(409, "This challenge has its ruling already.")
        note = str(form.get("note", "")).strip()[:2000] or None
        if not room.room.rule(cid, pid, ruling, note, session):
            raise _Denied(409, "This challenge has its ruling already.")
        return RedirectResponse(f"/x/{pid}/next", status_code=303)

    def _image_path(key: LineKey, keyed: dict[str, Any] | None) -> Path | None:
        if settings.data_dir is None or not keyed or not keyed.get("page_image"):
            return None
        folder = (settings.data_dir / "petitions" / key.petition_id).resolve()
        path = (folder / str(keyed["page_image"])).resolve()
        return path if path.is_relative_to(folder) and path.is_file() else None

    @page(room, "view-image", (Role.EXAMINER,))
    def page_image(request: Request, session: Session, form) -> Response:
        key = _key(request)
        path = _image_path(key, room.published.line_as_keyed(key)) if key else None
        if path is None:
            raise _Denied(404, "Not found.")
        return FileResponse(path, headers=_NO_STORE)

    # -- everyone: the dashboard -----------------------------------------------------------------

    @page(room, "dashboard")
    def dashboard_index(request: Request, session: Session, form) -> Response:
        if session.account.role is Role.PROPONENT:
            return RedirectResponse(f"/dashboard/{session.account.petition_id}", 303)
        return room.render(
            request, "dashboards.html", session, petitions=room.published.petitions()
        )

    @page(room, "dashboard")
    def dashboard(request: Request, session: Session, form) -> Response:
        pid = request.path_params["petition_id"]  # a proponent's own only: `page` checks it
        figures = room.published.dashboard(pid)
        if figures["determination"] is None:
            raise _Denied(404, "Not found.")
        tallies = room.room.counts(pid)
        return room.render(
            request,
            "dashboard.html",
            session,
            petition_id=pid,
            tallies=tallies,
            charts=charts.dashboard_charts(figures),
            **figures,
        )

    # -- admin -----------------------------------------------------------------------------------

    @page(room, "accounts", (Role.ADMIN,))
    def accounts(request: Request, session: Session, form) -> Response:
        problem = None
        if form is not None:
            action = str(form.get("action", "create"))
            username = str(form.get("username", "")).strip().lower()
            if action == "create":
                try:
                    role = check_new_account(
                        username,
                        str(form.get("role", "")),
                        str(form.get("petition_id", "")).strip() or None,
                        str(form.get("password", "")),
                    )
                    if room.room.password_hash(username) is not None:
                        raise AccountError(f"{username} exists already")
                    room.room.add_account(
                        username,
                        role,
                        str(form.get("petition_id", "")).strip() or None,
                        hash_password(str(form.get("password", ""))),
                    )
                except AccountError as exc:
                    problem = str(exc)
            elif action in ("disable", "enable"):
                room.room.set_disabled(username, action == "disable")
            if problem is None:
                return RedirectResponse("/admin", status_code=303)
        return room.render(
            request,
            "admin.html",
            session,
            400 if problem else 200,
            accounts=room.room.accounts(),
            petitions=room.published.petitions(),
            error=problem,
            roles=[r.value for r in Role],
        )

    @page(room, "access-log", (Role.ADMIN,))
    def access_log(request: Request, session: Session, form) -> Response:
        user = request.query_params.get("user") or None
        pid = request.query_params.get("petition") or None
        return room.render(
            request,
            "access_log.html",
            session,
            rows=room.room.access_log(user, pid, 500),
            user=user or "",
            petition=pid or "",
        )

    @page(room, "send-entries", (Role.ADMIN,))
    def send(request: Request, session: Session, form) -> Response:
        room.send_entries()
        return RedirectResponse("/admin", status_code=303)

    def _unknown(request: Request) -> Response:
        session = room.session_of(request)
        room.log(request, session, "unknown", 404)
        return room.render(request, "error.html", session, 404, message="Not found.")

    async def not_found(request: Request, exc: Exception) -> Response:
        # A path the room does not have looks exactly like one the role may not reach, and is
        # logged like every other request.
        return await run_in_threadpool(_unknown, request)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    line = "/p/{petition_id}/lines/{section_id}/{page:int}/{line:int}"
    routes = [
        Route("/login", login, methods=["GET", "POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/", home),
        Route("/healthz", health),
        Route("/p/{petition_id}", petition_home),
        Route("/p/{petition_id}/next", next_line),
        Route(line, view_line),
        Route(line + "/challenge", file_challenge, methods=["POST"]),
        Route(line + "/pass", pass_line, methods=["POST"]),
        Route("/x", queue),
        Route("/x/{petition_id}/next", next_challenge),
        Route("/x/{petition_id}/challenges/{challenge_id}", view_challenge),
        Route("/x/{petition_id}/challenges/{challenge_id}/rule", rule, methods=["POST"]),
        Route("/x/{petition_id}/images/{section_id}/{page:int}/{line:int}", page_image),
        Route("/dashboard", dashboard_index),
        Route("/dashboard/{petition_id}", dashboard),
        Route("/admin", accounts, methods=["GET", "POST"]),
        Route("/admin/access-log", access_log),
        Route("/admin/send", send, methods=["POST"]),
        Mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(_SecurityHeaders)],
        lifespan=_lifespan(room),
        exception_handlers={404: not_found},
    )
    app.state.room = room
    return app


def _lifespan(room: Room):
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        room.start()
        try:
            yield
        finally:
            await run_in_threadpool(room.stop)

    return lifespan


def _tuple(key: LineKey) -> tuple[str, int, int]:
    return (key.section_id, key.page, key.line)


def _line_url(pid: str, key: tuple[str, int, int]) -> str:
    from urllib.parse import quote

    section, page_no, line_no = key
    return f"/p/{quote(pid)}/lines/{quote(section, safe='')}/{page_no}/{line_no}"


def _entry_id(form) -> str:
    """The id the page gave the form: the same form sent twice files one entry."""
    value = str(form.get("entry_id", ""))
    try:
        return uuid.UUID(hex=value).hex
    except ValueError:
        raise _Denied(400, "The form is incomplete: load the line again.") from None


class _SecurityHeaders:
    """Headers on every response: no framing, no inline script, no referrer, no sniffing."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (
                        b"content-security-policy",
                        b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
                        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
                    ),
                    (b"x-frame-options", b"DENY"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
