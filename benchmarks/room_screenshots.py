"""Screenshots of the examination room for the docs: a proponent's review page of a line and the
dashboard midway through an examination.

    python benchmarks/room_screenshots.py --out docs/images

Serves the committed sample the way the room's tests do (recall_pipeline_tests/room_server.py:
published into a fresh warehouse, the room on a loopback port), enters a round of challenges and
rulings through the room's own forms, sends them to the petition's folder, starts the 60-day
clock 17 days ago in the copy's petition.yaml so that the clock has something to show, runs the
pipeline again and photographs the pages in headless Chromium. The data is the synthetic
sample's: no real voter appears. Nothing outside --out is changed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

from recall_pipeline.audit.certificate import chromium_binary
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.conftest import fresh_warehouse_url
from recall_pipeline_tests.room_server import (
    PASSWORD,
    PETITION,
    Room,
    field_value,
    publish_sample,
    run_pipeline,
    serve,
)

WIDTH = 1280
# Per reason: the ground filed, whether it names the matcher's strongest candidate, and the
# rulings in filing order (None: left open) — a mix, so that every chart has parts to show.
ROUND = (
    ("NOT_REGISTERED", "SIGNER_REGISTERED", True, ("ACCEPTED", "REJECTED", "REJECTED", None, None)),
    ("SIGNATURE_MISMATCH", "SIGNATURE_COMPARES", False, ("ACCEPTED", "ACCEPTED", "REJECTED", None)),
    ("ADDRESS_MISMATCH", "ADDRESS_ON_FILE_MATCHES", False, ("REJECTED", "ACCEPTED", None, None)),
    ("DUPLICATE", "NO_LINE_OF_VOTER_COUNTED", False, ("REJECTED", "REJECTED", None)),
    ("CANCELLED", "ANOTHER_REGISTRATION", True, ("REJECTED", None)),
)
EXAMINATION_DAYS_AGO = 17


def _lines(
    url: str, reason: str, limit: int, with_candidate: bool = False
) -> list[tuple[str, int, int, str | None]]:
    """The reason's first lines (by key) with no other reason against them, and each line's
    strongest candidate registration (only lines that have one, `with_candidate`)."""
    store = Warehouse(url)
    try:
        rows = store.query(
            "SELECT * FROM (SELECT e.section_id, e.page, e.line, (SELECT c.voter_id FROM "
            "match_candidates c WHERE c.petition_id = e.petition_id AND "
            "c.section_id = e.section_id AND c.page = e.page AND c.line = e.line "
            "ORDER BY c.match_probability DESC, c.voter_id LIMIT 1) AS candidate "
            "FROM examination_set e WHERE e.petition_id = :p AND e.reason_code = :r AND "
            "e.secondary_reasons IS NULL) lines "
            f"WHERE {'candidate IS NOT NULL' if with_candidate else 'TRUE'} "
            f"ORDER BY section_id, page, line LIMIT {int(limit)}",
            {"p": PETITION, "r": reason},
        )
    finally:
        store.dispose()
    return [
        (r.section_id, int(r.page), int(r.line), r.candidate if with_candidate else None)
        for r in rows.itertuples()
    ]


def _line_url(section: str, page: int, line: int) -> str:
    return f"/p/{PETITION}/lines/{section}/{page}/{line}"


def enter_round(room: Room) -> list[tuple[str, str | None]]:
    """Challenges filed by a proponent, then ruled on by the examiner, through the forms."""
    rulings: list[tuple[str, str | None]] = []
    with room.login("quinn") as client:
        for reason, ground, names_candidate, outcomes in ROUND:
            lines = _lines(room.url, reason, len(outcomes), names_candidate)
            for (section, page, line, candidate), outcome in zip(lines, outcomes, strict=True):
                form = client.get(_line_url(section, page, line))
                entry = field_value(form.text, "entry_id")
                filed = client.post(
                    f"{_line_url(section, page, line)}/challenge",
                    data={
                        "csrf_token": field_value(form.text, "csrf_token"),
                        "entry_id": entry,
                        "ground": ground,
                        "claimed_voter_id": candidate if names_candidate else "",
                        "evidence": "",
                    },
                )
                assert "error=" not in filed.headers["location"], filed.headers["location"]
                rulings.append((f"room-{entry}", outcome))
    with room.login("erin") as client:
        for challenge_id, ruling in rulings:
            if ruling is None:
                continue
            page = f"/x/{PETITION}/challenges/{challenge_id}"
            csrf = field_value(client.get(page).text, "csrf_token")
            ruled = client.post(f"{page}/rule", data={"csrf_token": csrf, "ruling": ruling})
            assert ruled.status_code == 303, (challenge_id, ruled.status_code)
    return rulings


def start_the_clock(data_dir: Path, days_ago: int) -> None:
    started = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days_ago)
    config = data_dir / "petitions" / PETITION / "petition.yaml"
    config.write_text(config.read_text() + f"examination:\n  started: {started.isoformat()}\n")


def signed_in(browser: Browser, room: Room, username: str) -> Page:
    # A short window: a full-page screenshot is as tall as the page, never less than this.
    context = browser.new_context(base_url=room.base, viewport={"width": WIDTH, "height": 600})
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    return page


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    parser.add_argument("--backend", choices=("postgresql", "duckdb"), default="postgresql")
    args = parser.parse_args(argv)
    chromium = chromium_binary()
    if chromium is None:
        print("Chromium is required: run `make browser`", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="room-screenshots-") as scratch,
        fresh_warehouse_url(args.backend, Path(scratch)) as url,
    ):
        data_dir = Path(scratch) / "data"
        print("publishing the sample…", flush=True)
        publish_sample(data_dir, url)
        with serve(url, data_dir) as room, sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                entered = enter_round(room)
                print(f"{len(entered)} challenges filed, sending and running again…", flush=True)
                room.send()
                start_the_clock(data_dir, EXAMINATION_DAYS_AGO)
                run_pipeline(data_dir, url)

                # The review page of an address mismatch: a matched registration beside the
                # line as keyed, and three grounds to choose from.
                pat = signed_in(browser, room, "pat")
                section, page, line, _ = _lines(url, "ADDRESS_MISMATCH", 8)[-1]
                pat.goto(_line_url(section, page, line))
                review = args.out / "room-review.png"
                pat.screenshot(path=str(review), full_page=True)

                olive = signed_in(browser, room, "olive")
                olive.goto(f"/dashboard/{PETITION}")
                dashboard = args.out / "room-dashboard.png"
                olive.screenshot(path=str(dashboard), full_page=True)
            finally:
                browser.close()
    print(f"wrote {review} and {dashboard}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
