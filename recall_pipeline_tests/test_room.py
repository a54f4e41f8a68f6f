"""The examination room over HTTP: who reaches what, sessions and forms, entries kept once and
sent to the pipeline as inputs, and the access log. A real server on loopback, on both
backends (the browser tests drive the same pages in Chromium: test_room_browser.py)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa

from recall_pipeline import cli
from recall_pipeline.ingest.arrivals import arrivals
from recall_pipeline.room import exports
from recall_pipeline.room.accounts import Role
from recall_pipeline.room.store import RoomStore
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.room_server import (
    PASSWORD,
    PETITION,
    field_value,
    publish_sample,
    run_pipeline,
    serve,
    sign_in,
)
from recall_pipeline_tests.room_server import (
    read as _read,
)

LINES = f"/p/{PETITION}/lines"
VOTER_ID = re.compile(r"LA\d{8}")


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def published(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("room")
    with fresh_warehouse_url(request.param, root) as url:
        publish_sample(root / "data", url)
        yield url, root / "data"


@pytest.fixture
def room(published):
    url, data_dir = published
    with serve(url, data_dir) as served:
        yield served


def _line(url: str, status: str, reason: str | None = None, offset: int = 0) -> str:
    where = "status = :s" + (" AND reason_code = :r" if reason else "")
    if reason == "SIGNATURE_MISMATCH":
        where += " AND secondary_reasons IS NULL"
    row = _read(
        url,
        f"SELECT section_id, page, line FROM line_verdicts WHERE {where} "
        f"ORDER BY section_id, page, line LIMIT 1 OFFSET {offset}",
        s=status,
        r=reason,
    ).iloc[0]
    return f"{LINES}/{row.section_id}/{row.page}/{row.line}"


def _next_line(client: httpx.Client) -> httpx.Response:
    handed = client.get(f"/p/{PETITION}/next")
    assert handed.status_code == 303
    page = client.get(handed.headers["location"])
    assert page.status_code == 200
    return page


def _challenge(client: httpx.Client, page: httpx.Response, **form) -> httpx.Response:
    data = {
        "csrf_token": field_value(page.text, "csrf_token"),
        "entry_id": field_value(page.text, "entry_id"),
        "ground": field_value(page.text, "ground"),
        # Read only by the grounds that name a registration.
        "claimed_voter_id": "LA00000001",
        "evidence": "",
        **form,
    }
    return client.post(f"{page.url.path}/challenge", data=data)


def _count(url: str, table: str, **where) -> int:
    conditions = " AND ".join(f"{c} = :{c}" for c in where) or "TRUE"
    return int(_read(url, f"SELECT count(*) AS n FROM {table} WHERE {conditions}", **where).n[0])


# -- who reaches what --------------------------------------------------------------------------


def test_each_role_lands_on_its_own_page(room) -> None:
    for user, target in (
        ("admin", "/admin"),
        ("pat", f"/p/{PETITION}"),
        ("erin", "/x"),
        ("olive", "/dashboard"),
    ):
        with room.login(user) as client:
            landing = client.get("/")
            assert landing.headers["location"] == target
            assert client.get(target).status_code == 200


def test_a_proponent_reaches_only_the_invalid_lines_of_their_own_petition(room) -> None:
    valid = _line(room.url, "VALID")
    invalid = _line(room.url, "INVALID")
    with room.login("pat") as client:
        page = client.get(invalid)
        assert page.status_code == 200
        # No other registration than the line's own: no candidate list, no birth date.
        assert "Candidates" not in page.text and "birth" not in page.text.lower()
        guesses = [
            valid,
            f"{LINES}/S999999/1/1",
            "/p/another-recall",
            "/p/another-recall/next",
            "/p/another-recall/lines/S000001/1/1",
            "/dashboard/another-recall",
            "/x",
            f"/x/{PETITION}/next",
            f"/x/{PETITION}/challenges/room-0",
            invalid.replace(f"/p/{PETITION}/lines/", f"/x/{PETITION}/images/"),
            "/admin",
            "/admin/access-log",
            "/roll",
            "/voters/LA00000001",
            "/voter_roll",
            f"/p/{PETITION}/export",
            f"/p/{PETITION}/lines",
            "/sessions",
            "/static/../store.py",
        ]
        refused = client.get(valid)
        for url in guesses:
            answer = client.get(url)
            assert answer.status_code == 404, url
            # The same page whether the path exists for another role or not at all.
            assert answer.text == refused.text, url
        # The one petition of theirs it may see is refused to a reviewer bound elsewhere.
    with room.login("other") as stranger:
        assert stranger.get(invalid).status_code == 404
        assert stranger.get(f"/p/{PETITION}/next").status_code == 404
        assert stranger.get(f"/dashboard/{PETITION}").status_code == 404


def test_an_observer_sees_aggregates_and_no_personal_data(room) -> None:
    with room.login("olive") as client:
        dashboard = client.get(f"/dashboard/{PETITION}")
        assert dashboard.status_code == 200
        assert "INSUFFICIENT" in dashboard.text and "<svg" in dashboard.text
        assert not VOTER_ID.search(dashboard.text)
        # Each basis with the lines that would change its result.
        bases = _read(room.url, "SELECT basis, margin, lines_to_flip FROM requirement_bases")
        shown = dashboard.text[dashboard.text.index('id="bases"') :]
        for b in bases.itertuples():
            row = shown[shown.index(f"<td>{b.basis}</td>") :]
            row = row[: row.index("</tr>")]
            assert f"<td>{int(b.margin):+,}</td><td>{int(b.lines_to_flip):,}</td>" in row
        for url in (_line(room.url, "INVALID"), f"/p/{PETITION}/next", "/x", "/admin"):
            assert client.get(url).status_code == 404, url


def test_a_post_without_its_csrf_token_is_refused_and_writes_nothing(room) -> None:
    with room.login("quinn") as client:
        page = _next_line(client)
        before = _count(room.url, "room_challenges")
        for token in (None, "forged"):
            data = {"entry_id": field_value(page.text, "entry_id"), "ground": "X"}
            if token:
                data["csrf_token"] = token
            assert client.post(f"{page.url.path}/challenge", data=data).status_code == 403
            assert client.post(f"{page.url.path}/pass", data=data).status_code == 403
        assert client.post("/logout").status_code == 403
        assert _count(room.url, "room_challenges") == before
    with room.client() as anonymous:
        refused = anonymous.post(f"{page.url.path}/challenge", data={"ground": "X"})
        assert refused.status_code == 401


def test_expired_and_ended_sessions_are_refused(room) -> None:
    with room.login("quinn") as client:
        page = _next_line(client)
        room.clock.offset = dt.timedelta(minutes=31)  # idle past the 30 minutes allowed
        assert client.get(page.url.path).headers["location"] == "/login"
        refused = _challenge(client, page)
        assert refused.status_code == 401
    room.clock.offset = dt.timedelta()
    with room.login("quinn") as client:
        room.clock.offset = dt.timedelta(hours=10, seconds=1)  # past its whole lifetime
        assert client.get(f"/p/{PETITION}").status_code == 303
    room.clock.offset = dt.timedelta()
    with room.login("quinn") as client:
        csrf = field_value(client.get(f"/p/{PETITION}").text, "csrf_token")
        stolen = client.cookies.get("room_session")
        assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    with room.client() as replay:
        replay.cookies.set("room_session", stolen)
        assert replay.get(f"/p/{PETITION}").headers["location"] == "/login"


def test_failed_sign_ins_lock_the_username_out(published) -> None:
    url, data_dir = published
    with serve(url, data_dir, failures_per_user=3) as room, room.client() as client:
        for _ in range(3):
            assert sign_in(client, "olive", "wrong password!!").status_code == 401
        # The right password no longer opens the account inside the window...
        assert sign_in(client, "olive", PASSWORD).status_code == 429
        # ...nor is an unknown name told apart from a wrong password.
        assert sign_in(client, "nobody", PASSWORD).status_code == 401
        room.clock.offset = dt.timedelta(minutes=16)
        assert sign_in(client, "olive", PASSWORD).status_code == 303


# -- entries -----------------------------------------------------------------------------------


def test_a_challenge_is_filed_once_however_often_its_form_is_sent(room) -> None:
    with room.login("pat") as client:
        page = _next_line(client)
        before = _count(room.url, "room_challenges")
        first = _challenge(client, page, evidence="the signer lives here")
        again = _challenge(client, page, evidence="the signer lives here")
        assert first.status_code == again.status_code == 303
        assert _count(room.url, "room_challenges") == before + 1
        # The line is done: the next one handed out is another.
        assert _next_line(client).url.path != page.url.path


def test_two_reviewers_are_never_handed_the_same_line(room) -> None:
    with room.login("pat") as pat, room.login("quinn") as quinn:
        assert _next_line(pat).url.path != _next_line(quinn).url.path


def test_a_ground_must_be_one_offered_for_the_lines_reason(room) -> None:
    with room.login("pat") as client:
        page = client.get(_line(room.url, "INVALID", "NOT_REGISTERED", offset=3))
        before = _count(room.url, "room_challenges")
        wrong = _challenge(client, page, ground="SIGNATURE_COMPARES")
        assert "error=" in wrong.headers["location"]
        missing_voter = _challenge(client, page, ground="SIGNER_REGISTERED", claimed_voter_id="")
        assert "error=" in missing_voter.headers["location"]
        assert _count(room.url, "room_challenges") == before
        valid = client.get(_line(room.url, "VALID"))
        assert valid.status_code == 404


def test_a_challenge_gets_one_ruling(room) -> None:
    with room.login("pat") as client:
        _challenge(client, _next_line(client))
    with room.login("erin") as examiner:
        handed = examiner.get(f"/x/{PETITION}/next")
        page = examiner.get(handed.headers["location"])
        assert page.status_code == 200 and "Claimed registration" in page.text
        csrf = field_value(page.text, "csrf_token")
        rule = f"{page.url.path}/rule"
        assert examiner.post(rule, data={"csrf_token": csrf, "ruling": "MAYBE"}).status_code == 400
        ruled = examiner.post(rule, data={"csrf_token": csrf, "ruling": "REJECTED", "note": "no"})
        assert ruled.status_code == 303
        again = examiner.post(rule, data={"csrf_token": csrf, "ruling": "ACCEPTED"})
        assert again.status_code == 409
        cid = page.url.path.rsplit("/", 1)[1]
        assert _count(room.url, "room_rulings", challenge_id=cid) == 1


def test_the_examiner_sees_the_other_challenges_on_a_line(room) -> None:
    path = _line(room.url, "INVALID", "ADDRESS_MISMATCH", offset=2)
    for reviewer, ground in (
        ("pat", "MOVED_DURING_CIRCULATION"),
        ("quinn", "ADDRESS_ON_FILE_MATCHES"),
    ):
        with room.login(reviewer) as client:
            assert _challenge(client, client.get(path), ground=ground).status_code == 303
    section, page_no, line_no = path.rsplit("/", 3)[1:]
    filed = _read(
        room.url,
        "SELECT challenge_id, ground FROM room_challenges "
        "WHERE section_id = :s AND page = :p AND line = :n ORDER BY filed_at",
        s=section,
        p=int(page_no),
        n=int(line_no),
    )
    assert list(filed.ground) == ["MOVED_DURING_CIRCULATION", "ADDRESS_ON_FILE_MATCHES"]
    with room.login("erin") as examiner:
        page = examiner.get(f"/x/{PETITION}/challenges/{filed.challenge_id[0]}")
        assert "Other challenges on this line" in page.text
        assert filed.challenge_id[1] in page.text


def test_every_view_and_entry_is_in_the_access_log(room) -> None:
    with room.login("quinn") as client:
        viewed = []
        for _ in range(3):
            page = _next_line(client)
            viewed.append(page.url.path)
            client.post(
                f"{page.url.path}/pass",
                data={
                    "csrf_token": field_value(page.text, "csrf_token"),
                    "entry_id": field_value(page.text, "entry_id"),
                },
            )
        client.get(_line(room.url, "VALID"))  # refused, and logged as refused
    log = _read(
        room.url,
        "SELECT action, path, status_code, section_id, page, line FROM room_access_log "
        "WHERE username = 'quinn' ORDER BY logged_at",
    )
    for path in viewed:
        assert ((log.path == path) & (log.action == "view-line")).sum() >= 1, path
        assert ((log.path == f"{path}/pass") & (log.action == "pass-line")).sum() == 1, path
    assert ((log.action == "view-line:denied") & (log.status_code == 404)).sum() >= 1
    with room.login("admin") as admin:
        page = admin.get("/admin/access-log", params={"user": "quinn"})
        assert page.status_code == 200 and all(p in page.text for p in viewed)


def test_the_rooms_entries_are_append_only_on_postgresql(tmp_path: Path) -> None:
    """PostgreSQL refuses to change or delete an entry, whoever asks; on DuckDB, which has no
    triggers, only the room's code stands guard (it only inserts)."""
    with fresh_warehouse_url("postgresql", tmp_path) as url:
        store = Warehouse(url)
        try:
            room = RoomStore(store)
            room.create_tables()
            room.log_access(method="GET", path="/", action="home", status_code=200)
            room.record_attempt("someone", "127.0.0.1", False)
            for table in ("room_access_log", "room_login_attempts"):
                for change in (f"UPDATE {table} SET client_ip = 'x'", f"DELETE FROM {table}"):
                    with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                        store.execute(change)
                assert _count(url, table) == 1
            # The accounts are not entries: an admin disables one.
            room.add_account("someone", Role.OBSERVER, None, "hash")
            assert room.set_disabled("someone", True)
        finally:
            store.dispose()


# -- entries become inputs -------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["duckdb", "postgresql"])
def test_the_rooms_entries_decide_lines_again_after_a_rerun(backend: str, tmp_path: Path) -> None:
    """Filed, ruled, sent as input files, taken in by a rerun: the accepted challenge's line
    is decided again through the rules, names the room's challenge, and the count moves."""
    with fresh_warehouse_url(backend, tmp_path) as url:
        data_dir = tmp_path / "data"
        publish_sample(data_dir, url)
        before = _read(url, "SELECT valid FROM sufficiency_determination").valid[0]
        _, seen = arrivals(data_dir, None)
        flip = _line(url, "INVALID", "SIGNATURE_MISMATCH")
        stays = _line(url, "INVALID", "SIGNATURE_MISMATCH", offset=1)
        with serve(url, data_dir) as room:
            with room.login("pat") as pat:
                for path in (flip, stays):
                    page = pat.get(path)
                    assert _challenge(pat, page, ground="SIGNATURE_COMPARES").status_code == 303
                # A registration the roll does not hold: the run's checks refuse it.
                unknown = pat.get(_line(url, "INVALID", "NOT_REGISTERED"))
                filed = _challenge(
                    pat, unknown, ground="SIGNER_REGISTERED", claimed_voter_id="LA99999999"
                )
                assert filed.status_code == 303
            ids = _read(
                url, "SELECT challenge_id, section_id, page, line FROM room_challenges"
            ).assign(
                path=lambda f: (
                    LINES + "/" + f.section_id + "/" + f.page.astype(str) + "/" + f.line.astype(str)
                )
            )
            with room.login("erin") as erin:
                for path, ruling in ((flip, "ACCEPTED"), (stays, "REJECTED")):
                    cid = ids.loc[ids.path == path, "challenge_id"].iloc[0]
                    page = erin.get(f"/x/{PETITION}/challenges/{cid}")
                    csrf = field_value(page.text, "csrf_token")
                    ruled = erin.post(
                        f"{page.url.path}/rule", data={"csrf_token": csrf, "ruling": ruling}
                    )
                    assert ruled.status_code == 303
            assert room.send() == 5
            assert room.send() == 0  # nothing is sent twice
        files = sorted(p.relative_to(data_dir).as_posix() for p in data_dir.rglob("room-*.csv"))
        assert [f.split("/")[2] for f in files] == ["challenges", "rulings"]
        # What the arrivals sensor launches a petition's run for.
        arrived, _ = arrivals(data_dir, seen)
        assert sorted(a.file.relative_path for a in arrived) == files
        assert {a.kind for a in arrived} == {"review_file"}
        run_pipeline(data_dir, url, warned=("challenges",))
        after = _read(url, "SELECT valid FROM sufficiency_determination").valid[0]
        assert after == before + 1
        verdicts = _read(
            url,
            "SELECT section_id, page, line, status, challenge_id, ruling_source_file "
            "FROM line_verdicts WHERE challenge_id IS NOT NULL",
        )
        assert len(verdicts) == 1
        (row,) = verdicts.itertuples()
        assert f"{LINES}/{row.section_id}/{row.page}/{row.line}" == flip
        assert row.status == "VALID" and row.challenge_id.startswith("room-")
        assert row.ruling_source_file == files[1]
        # Nothing the room wrote was set aside, and the standing counts both rulings.
        assert _count(url, "challenges_set_aside") == 0
        status = _read(url, "SELECT accepted, rejected FROM examination_status").iloc[0]
        assert (status.accepted, status.rejected) == (1, 1)
        # The refused entry is counted on the dashboard, by its reason, without its value.
        with serve(url, data_dir) as room, room.login("olive") as olive:
            dashboard = olive.get(f"/dashboard/{PETITION}").text
        refused = dashboard[dashboard.index('id="refused"') :]
        assert "claimed_voter_id" in refused and "LA99999999" not in dashboard


def test_an_export_whose_transaction_failed_is_recorded_not_written_again(
    published, monkeypatch: pytest.MonkeyPatch
) -> None:
    url, data_dir = published
    folder = data_dir / "petitions" / PETITION / "challenges"
    with serve(url, data_dir) as room:
        with room.login("quinn") as client:
            _challenge(client, _next_line(client))
        real_replace = os.replace

        def replace_then_fail(source, target):
            # The file goes into place, then its transaction does not commit.
            real_replace(source, target)
            raise RuntimeError("the commit failed")

        monkeypatch.setattr(exports.os, "replace", replace_then_fail)
        with pytest.raises(RuntimeError, match="commit failed"):
            room.send()
        monkeypatch.undo()
        placed = sorted(folder.glob("room-*.csv"))
        recorded = _read(url, "SELECT file FROM room_exports").file
        unrecorded = [p for p in placed if p.relative_to(data_dir).as_posix() not in set(recorded)]
        assert len(unrecorded) == 1
        # Recorded from the file in place: nothing left to send, no second file.
        assert room.send() == 0
        assert sorted(folder.glob("room-*.csv")) == placed
    ids = pd.concat(pd.read_csv(p, dtype=str) for p in placed)["challenge_id"]
    assert ids.is_unique
    assert _count(url, "room_exported", kind="challenges") == len(ids)


def test_accounts_are_made_and_refused_from_the_command_line(
    published, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    url, _ = published

    def add(*args: str, password: str) -> int:
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        return cli.main(["room-account", "add", *args, "--password-stdin", "--warehouse", url])

    assert add("vera", "--role", "examiner", password="a long enough password") == 0
    assert add("vera", "--role", "examiner", password="a long enough password") == 2
    assert add("short", "--role", "observer", password="too short") == 2
    assert add("bound", "--role", "proponent", password="a long enough password") == 2
    assert add("Bad Name", "--role", "observer", password="a long enough password") == 2
    assert "vera" in capsys.readouterr().out
    assert cli.main(["room-account", "disable", "vera", "--warehouse", url]) == 0
    assert cli.main(["room-account", "disable", "nobody", "--warehouse", url]) == 2
    with serve(url, published[1]) as room, room.client() as client:
        assert sign_in(client, "vera", "a long enough password").status_code == 401


def test_a_form_sent_twice_at_once_files_one_entry(room) -> None:
    """A double click sends the form twice before the first answer: both are answered as filed,
    one row is written."""
    with room.login("pat") as client:
        page = _next_line(client)
        before = _count(room.url, "room_challenges")
        with room.client() as twin:
            twin.cookies.update(client.cookies)
            with ThreadPoolExecutor(2) as pool:
                sent = list(pool.map(lambda c: _challenge(c, page), (client, twin)))
        assert [s.status_code for s in sent] == [303, 303]
        assert _count(room.url, "room_challenges") == before + 1


# -- under load (benchmarks/room_load.py measures it) ------------------------------------------


def test_a_request_is_served_on_one_connection(room) -> None:
    """A page's statements share one pooled connection: taking one for each statement costs
    a ping and, on PostgreSQL, a transaction's round trips each (see store.request_connection)."""
    state = room.app.state.room
    taken = []
    listener = lambda *args: taken.append(1)  # noqa: E731
    with room.login("quinn") as client:
        page = _next_line(client)
        sa.event.listen(state.store.engine, "checkout", listener)
        try:
            assert client.get(page.url.path).status_code == 200
            passed = client.post(
                f"{page.url.path}/pass",
                data={
                    "csrf_token": field_value(page.text, "csrf_token"),
                    "entry_id": field_value(page.text, "entry_id"),
                },
            )
            assert passed.status_code == 303
        finally:
            sa.event.remove(state.store.engine, "checkout", listener)
    assert len(taken) == 2
    if state.store.dialect == "postgresql":
        # Each thread that serves pages or sign-ins holds one while it serves: the pool keeps
        # as many open.
        settings = state.settings
        assert state.store.engine.pool.size() >= settings.threads + settings.sign_in_threads


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a thread's niceness: Linux")
def test_sign_ins_run_at_a_lower_cpu_priority(room) -> None:
    """A burst of sign-ins (Argon2, ~0.2 s of CPU each) yields the CPU to the pages."""
    own = room.app.state.room.sign_ins.submit(
        lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    )
    assert own.result() >= 10


def test_challenges_filed_by_file_reach_the_examiners_queue(tmp_path: Path) -> None:
    """A challenge the proponents filed as a file (not in the room) waits in the examiner's
    queue, counted once, until ruled on in the room."""
    with fresh_warehouse_url("duckdb", tmp_path) as url:
        data_dir = tmp_path / "data"
        publish_sample(data_dir, url)
        section, page_no, line_no = _line(url, "INVALID", "SIGNATURE_MISMATCH").rsplit("/", 3)[1:]
        folder = data_dir / "petitions" / PETITION / "challenges"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "by_file.csv").write_text(
            "challenge_id,section_id,page,line,ground,claimed_voter_id,evidence,filed_by,filed_at\n"
            f"F-1,{section},{page_no},{line_no},SIGNATURE_COMPARES,,,committee,2022-09-10 10:00\n",
            encoding="utf-8",
        )
        run_pipeline(data_dir, url)
        with serve(url, data_dir) as room, room.login("erin") as examiner:
            queue = examiner.get("/x").text
            assert re.search(rf"<td>{PETITION}</td><td>[A-Z]+</td><td>1</td>", queue)
            handed = examiner.get(f"/x/{PETITION}/next")
            assert handed.headers["location"] == f"/x/{PETITION}/challenges/F-1"
            page = examiner.get(handed.headers["location"])
            assert "1 open challenge" in page.text
            ruled = examiner.post(
                f"{page.url.path}/rule",
                data={"csrf_token": field_value(page.text, "csrf_token"), "ruling": "ACCEPTED"},
            )
            assert ruled.status_code == 303
            assert re.search(
                rf"<td>{PETITION}</td><td>[A-Z]+</td><td>0</td>", examiner.get("/x").text
            )
            assert examiner.get(f"/x/{PETITION}/next").headers["location"] == "/x"
