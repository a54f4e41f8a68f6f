"""The examination room in real headless Chromium (Playwright driving the machine's own
browser): each role signs in through the form and works with the keyboard as the room's
people would; the entries reach the pipeline, a rerun changes the determination the pages
show; and what a proponent may not reach, they do not reach from the address bar either.

One backend, PostgreSQL (production's and the load test's): test_room.py covers both over
HTTP. The tests share one published sample and one room; each signs in its own accounts in
fresh browser contexts (cookies of their own), and each is whole by itself.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, Response, sync_playwright
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from recall_pipeline.audit.certificate import chromium_binary
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.room_server import (
    PASSWORD,
    PETITION,
    publish_sample,
    run_pipeline,
    serve,
)
from recall_pipeline_tests.room_server import (
    read as _read,
)

LINES = f"/p/{PETITION}/lines"
LINE_PATH = re.compile(rf"^{re.escape(LINES)}/([^/]+)/(\d+)/(\d+)$")
VOTER_ID = re.compile(r"LA\d{8}")
LANDING = {
    "admin": "/admin",
    "pat": f"/p/{PETITION}",
    "quinn": f"/p/{PETITION}",
    "erin": "/x",
    "olive": "/dashboard",
}

Key = tuple[str, int, int]


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def room(browser, tmp_path_factory):
    """The room over a published sample; after the browser, whose absence fails at once."""
    root = tmp_path_factory.mktemp("room-browser")
    with fresh_warehouse_url("postgresql", root) as url:
        publish_sample(root / "data", url)
        with serve(url, root / "data") as served:
            yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which(chromium_binary() or "chromium")
    if chromium is None:
        pytest.fail(
            "Chromium is required for the room's browser tests: run `make browser` (Debian's "
            "chromium package), or name a Chromium binary in RECALL_CHROMIUM",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


class Viewer:
    """The lines each account's pages showed (a 200 for a line's page), as the browser saw
    them: the access log must hold every one."""

    def __init__(self) -> None:
        self.lines: dict[str, set[Key]] = {}

    def watch(self, username: str, page: Page) -> None:
        def seen(response: Response) -> None:
            found = LINE_PATH.match(urlsplit(response.url).path)
            if found and response.request.method == "GET" and response.status == 200:
                self.lines.setdefault(username, set()).add(_key(found))

        page.on("response", seen)


@pytest.fixture
def viewer() -> Viewer:
    return Viewer()


@pytest.fixture
def sign_in(browser, room, viewer) -> Iterator[Callable[[str], Page]]:
    contexts = []

    def open_as(username: str) -> Page:
        context = browser.new_context(base_url=room.base, viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        viewer.watch(username, page)
        page.goto("/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert _path(page) == LANDING[username], (username, page.url)
        return page

    yield open_as
    for context in contexts:
        context.close()


# -- helpers -----------------------------------------------------------------------------------


def _path(page: Page) -> str:
    return urlsplit(page.url).path


def _key(found: re.Match) -> Key:
    return found.group(1), int(found.group(2)), int(found.group(3))


def _line_of(page: Page) -> Key:
    found = LINE_PATH.match(_path(page))
    assert found, f"not a line's page: {page.url}"
    return _key(found)


def _url(key: Key) -> str:
    return f"{LINES}/{key[0]}/{key[1]}/{key[2]}"


def press(page: Page, key: str) -> Response:
    """Press a key that sends a form, and wait for the page it leads to."""
    try:
        with page.expect_navigation(timeout=10_000) as navigation:
            page.keyboard.press(key)
    except PlaywrightTimeout:
        pytest.fail(f"pressing {key!r} on {page.url} sent no form", pytrace=False)
    return navigation.value


def _lines(url: str, status: str, reason: str | None = None, limit: int = 1) -> list[Key]:
    where = "status = :s" + (
        " AND reason_code = :r AND secondary_reasons IS NULL" if reason else ""
    )
    rows = _read(
        url,
        f"SELECT section_id, page, line FROM line_verdicts WHERE {where} "
        f"ORDER BY section_id, page, line LIMIT {limit}",
        s=status,
        r=reason,
    )
    return [(r.section_id, int(r.page), int(r.line)) for r in rows.itertuples()]


def _challenges(url: str) -> pd.DataFrame:
    return _read(
        url,
        "SELECT challenge_id, section_id, page, line, ground, claimed_voter_id, filed_by "
        "FROM room_challenges",
    )


def _figure(page: Page, name: str) -> str:
    return page.locator(f"#{name}").inner_text().strip()


def _is_not_found(page: Page, response: Response) -> str:
    assert response.status == 404, (page.url, response.status)
    text = page.locator("body").inner_text()
    assert "not found" in text.lower(), (page.url, text)
    assert not VOTER_ID.search(page.content()), page.url
    return text


def assert_views_logged(url: str, viewer: Viewer, username: str) -> None:
    log = _read(
        url,
        "SELECT DISTINCT section_id, page, line FROM room_access_log "
        "WHERE username = :u AND action = 'view-line' AND status_code = 200 "
        "AND petition_id = :p",
        u=username,
        p=PETITION,
    )
    logged = {(r.section_id, int(r.page), int(r.line)) for r in log.itertuples()}
    viewed = viewer.lines.get(username, set())
    assert viewed, f"{username} viewed no line"
    assert viewed <= logged, viewed - logged


# -- the whole round: review, rule, send, rerun ------------------------------------------------


def review_with_the_keyboard(page: Page, voter_id: str) -> dict[Key, str | None]:
    """Three lines as they come: a challenge whose voter ID ends with Escape and c, one ending
    with Enter, and a pass with n. What each line got (its ground, None when passed)."""
    done: dict[Key, str | None] = {}
    with page.expect_navigation():
        page.locator("#start").click()
    for how in ("escape-c", "enter", "pass"):
        key = _line_of(page)
        assert key not in done, f"{key} handed out twice"
        if how == "pass":
            press(page, "n")
            done[key] = None
        else:
            page.keyboard.press("1")
            ground = page.locator("input[name=ground]:checked")
            assert ground.get_attribute("data-key") == "1"
            # The sample's highest-priority lines are unregistered signers: the ground names
            # the registration, and the digit puts the cursor in its field.
            assert ground.get_attribute("data-needs-voter") == "y", _line_of(page)
            assert page.evaluate("document.activeElement.id") == "claimed_voter_id"
            page.keyboard.type(voter_id)
            done[key] = ground.get_attribute("value")
            if how == "escape-c":
                page.keyboard.press("Escape")
                press(page, "c")
            else:
                press(page, "Enter")
        assert _line_of(page) != key, "the page stayed on the line"
        assert _line_of(page) not in done
    return done


def test_lines_reviewed_and_ruled_in_the_browser_change_the_determination_after_a_rerun(
    room, sign_in, viewer
) -> None:
    url = room.url
    (signature_line,) = _lines(url, "INVALID", "SIGNATURE_MISMATCH")
    claimed = _read(url, "SELECT min(voter_id) AS v FROM voter_roll").v[0]

    olive = sign_in("olive")
    with olive.expect_navigation():
        olive.get_by_role("link", name=PETITION).click()
    valid_before = int(_figure(olive, "valid").replace(",", ""))
    margin_before = int(_figure(olive, "margin").replace(",", ""))
    assert _figure(olive, "accepted") == "0"

    # The proponent: the signature line by its address (a line of their examination set),
    # then the lines the room hands out, with the keyboard only.
    pat = sign_in("pat")
    pat.goto(_url(signature_line))
    assert pat.locator("#reason").inner_text() == "SIGNATURE_MISMATCH"
    pat.keyboard.press("1")
    assert pat.locator("input[name=ground]:checked").get_attribute("value") == "SIGNATURE_COMPARES"
    press(pat, "c")
    assert _line_of(pat) != signature_line
    pat.goto(f"/p/{PETITION}")
    reviewed = review_with_the_keyboard(pat, claimed)

    filed = _challenges(url).set_index(["section_id", "page", "line"])
    assert set(filed.filed_by) == {"pat"}
    assert filed.loc[signature_line].ground == "SIGNATURE_COMPARES"
    for key, ground in reviewed.items():
        if ground is None:
            assert key not in filed.index
        else:
            assert filed.loc[key].ground == ground
            # Exactly as typed: the keys that followed it are not in it.
            assert filed.loc[key].claimed_voter_id == claimed
    assert len(filed) == 3
    signature_challenge = filed.loc[signature_line].challenge_id
    rejected_line = next(k for k, g in reviewed.items() if g)
    rejected_challenge = filed.loc[rejected_line].challenge_id

    # The examiner: the oldest open challenge first, accepted with a, the next rejected with r.
    erin = sign_in("erin")
    with erin.expect_navigation():
        erin.get_by_role("link", name="Rule on the next").click()
    assert erin.url.endswith(f"/challenges/{signature_challenge}")
    assert erin.locator("#ground").inner_text() == "SIGNATURE_COMPARES"
    press(erin, "a")
    assert erin.url.endswith(f"/challenges/{rejected_challenge}"), erin.url
    press(erin, "r")
    assert not erin.url.endswith(f"/challenges/{rejected_challenge}")
    rulings = _read(url, "SELECT challenge_id, ruling, ruled_by FROM room_rulings")
    assert dict(zip(rulings.challenge_id, rulings.ruling, strict=True)) == {
        signature_challenge: "ACCEPTED",
        rejected_challenge: "REJECTED",
    }
    assert set(rulings.ruled_by) == {"erin"}

    # Before a run takes them in, the dashboard counts the room's own entries.
    olive.reload()
    tallies = olive.locator("#room-tallies").inner_text()
    assert "3 challenge(s) filed (3 not yet sent" in tallies, tallies
    assert "1 accepted and 1 rejected" in tallies, tallies

    # The admin sends the entries to the petition's folder; the pipeline runs again.
    admin = sign_in("admin")
    with admin.expect_navigation():
        admin.get_by_role("button", name=re.compile("Send .* now")).click()
    assert _path(admin) == "/admin"
    folder = Path(room.data_dir) / "petitions" / PETITION
    sent = {
        kind: "".join(p.read_text() for p in sorted((folder / kind).glob("room-*.csv")))
        for kind in ("challenges", "rulings")
    }
    assert all(c in sent["challenges"] for c in filed.challenge_id)
    assert signature_challenge in sent["rulings"] and rejected_challenge in sent["rulings"]
    run_pipeline(room.data_dir, url)

    # The determination and the dashboard move by the one accepted line.
    olive.reload()
    assert int(_figure(olive, "valid").replace(",", "")) == valid_before + 1
    assert int(_figure(olive, "margin").replace(",", "")) == margin_before + 1
    assert _figure(olive, "accepted") == "1"
    assert _figure(olive, "challenged") == "3"
    verdict = _read(
        url,
        "SELECT status, challenge_id FROM line_verdicts WHERE petition_id = :p AND "
        "section_id = :s AND page = :n AND line = :l",
        p=PETITION,
        s=signature_line[0],
        n=signature_line[1],
        l=signature_line[2],
    ).iloc[0]
    assert (verdict.status, verdict.challenge_id) == ("VALID", signature_challenge)
    # Valid now, the line is out of the proponent's reach.
    _is_not_found(pat, pat.goto(_url(signature_line)))
    assert_views_logged(url, viewer, "pat")


# -- observers ---------------------------------------------------------------------------------


def test_an_observer_sees_the_dashboard_and_no_voter(room, sign_in) -> None:
    olive = sign_in("olive")
    assert [a.inner_text() for a in olive.locator("header nav a").all()] == ["Dashboards"]
    with olive.expect_navigation():
        olive.get_by_role("link", name=PETITION).click()
    assert _path(olive) == f"/dashboard/{PETITION}"
    # The lines to flip and the bases at least; the reasons' charts once challenges are in.
    assert olive.locator("svg.chart").count() >= 2
    assert olive.locator("#result").inner_text() in ("SUFFICIENT", "INSUFFICIENT")
    assert not VOTER_ID.search(olive.content())
    # Every label and figure of the charts is inside its chart (an SVG text does not wrap: one
    # too long for its room is cut off at the edge).
    cut_off = olive.evaluate(
        """() => [...document.querySelectorAll("svg.chart text")].filter((t) => {
            const box = t.getBBox();
            return box.x < 0 || box.x + box.width > t.ownerSVGElement.viewBox.baseVal.width;
        }).map((t) => t.textContent)"""
    )
    assert cut_off == []
    (line,) = _lines(room.url, "INVALID")
    for guess in (_url(line), f"/p/{PETITION}/next", "/x", "/admin"):
        _is_not_found(olive, olive.goto(guess))


# -- what a proponent cannot reach -------------------------------------------------------------


def test_a_proponent_guessing_addresses_gets_not_found(room, sign_in) -> None:
    (valid,) = _lines(room.url, "VALID")
    (invalid,) = _lines(room.url, "INVALID", "NOT_REGISTERED")
    pat = sign_in("pat")
    assert pat.goto(_url(invalid)).status == 200
    # A valid line's page is the page of a line that does not exist, word for word.
    nowhere = _is_not_found(pat, pat.goto(f"{LINES}/S999999/1/1"))
    assert _is_not_found(pat, pat.goto(_url(valid))) == nowhere
    guesses = [
        "/p/another-recall",
        "/p/another-recall/next",
        "/p/another-recall/lines/S000001/1/1",
        "/dashboard/another-recall",
        "/x",
        f"/x/{PETITION}/next",
        f"/x/{PETITION}/images/{invalid[0]}/{invalid[1]}/{invalid[2]}",
        "/admin",
        "/admin/access-log",
        "/admin/access-log?user=quinn",
        "/roll",
        "/voter_roll",
        "/voters/LA00000001",
        f"/p/{PETITION}/export",
        "/sessions",
    ]
    for guess in guesses:
        _is_not_found(pat, pat.goto(guess))
    denied = _read(
        room.url,
        "SELECT path FROM room_access_log WHERE username = 'pat' AND status_code = 404",
    )
    assert {"/admin", "/x", _url(valid)} <= set(denied.path)


def test_a_form_without_its_csrf_token_is_refused(room, sign_in) -> None:
    quinn = sign_in("quinn")
    quinn.goto(f"/p/{PETITION}/next")
    line = _line_of(quinn)
    before = len(_challenges(room.url))
    for form, key in (("#challenge", "c"), ("#pass", "n")):
        quinn.evaluate(f"document.querySelector('{form} input[name=csrf_token]').remove()")
        refused = press(quinn, key)
        assert refused.status == 403, form
        assert "security token" in quinn.locator("body").inner_text()
        quinn.goto(_url(line))
    assert len(_challenges(room.url)) == before
    passed = _read(
        room.url,
        "SELECT section_id, page, line FROM room_passes WHERE passed_by = 'quinn'",
    )
    assert line not in {(r.section_id, int(r.page), int(r.line)) for r in passed.itertuples()}
    # With its token the same form goes through.
    press(quinn, "n")
    assert _line_of(quinn) != line


def test_an_expired_session_sends_the_browser_to_sign_in(room, sign_in) -> None:
    quinn = sign_in("quinn")
    quinn.goto(f"/p/{PETITION}/next")
    line = _line_of(quinn)
    room.clock.offset = dt.timedelta(minutes=31)  # idle past the 30 minutes allowed
    try:
        refused = press(quinn, "n")
        assert refused.status == 401
        quinn.goto(_url(line))
        assert _path(quinn) == "/login"
        assert quinn.get_by_label("Username").is_visible()
    finally:
        # The room's sessions start at the real time: back to it, signing in opens one.
        room.clock.offset = dt.timedelta()
    quinn.get_by_label("Username").fill("quinn")
    quinn.get_by_label("Password").fill(PASSWORD)
    with quinn.expect_navigation():
        quinn.get_by_role("button", name="Sign in").click()
    assert _path(quinn) == f"/p/{PETITION}"


def test_every_line_a_proponent_views_is_in_the_access_log(room, sign_in, viewer) -> None:
    quinn = sign_in("quinn")
    with quinn.expect_navigation():
        quinn.locator("#start").click()
    for _ in range(3):
        press(quinn, "n")
    for key in _lines(room.url, "INVALID", "ADDRESS_MISMATCH", limit=2):
        assert quinn.goto(_url(key)).status == 200
    assert len(viewer.lines["quinn"]) >= 5
    assert_views_logged(room.url, viewer, "quinn")
    # The admin's page shows them too.
    admin = sign_in("admin")
    admin.goto("/admin/access-log?user=quinn")
    log = admin.locator("#log").inner_text()
    for key in viewer.lines["quinn"]:
        assert _url(key) in log, key
