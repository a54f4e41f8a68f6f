"""The examination room served for real (uvicorn on a loopback port, in a thread) over a
published run of the committed sample, with one account of each role."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pandas as pd
import pytest
import uvicorn

from recall_pipeline import settings
from recall_pipeline.room.accounts import Role, hash_password
from recall_pipeline.room.app import RoomSettings, create_app
from recall_pipeline.room.store import RoomStore, utcnow
from recall_pipeline.runner import materialize_all
from recall_pipeline.warehouse import Warehouse
from recall_pipeline_tests.datadir import copy_sample

PETITION = "la-2022-da-recall"
PASSWORD = "correct horse battery staple"
# One account per role; the proponent reviewers are bound to the sample's petition.
ACCOUNTS = {
    "admin": (Role.ADMIN, None),
    "pat": (Role.PROPONENT, PETITION),
    "quinn": (Role.PROPONENT, PETITION),
    "erin": (Role.EXAMINER, None),
    "olive": (Role.OBSERVER, None),
    # Bound to a petition the warehouse does not hold.
    "other": (Role.PROPONENT, "another-recall"),
}


def run_pipeline(data_dir: Path, url: str, warned: tuple[str, ...] = ()) -> None:
    """Run the pipeline; every check passes but the warnings of the assets in `warned`, which
    must warn (a test that sends a bad entry on purpose)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(settings.DATA_DIR_ENV, str(data_dir))
        patch.setenv(settings.WAREHOUSE_URL_ENV, url)
        outcome = materialize_all()
    assert outcome.success, outcome.errors
    failed = [c for c in outcome.checks if not c.passed]
    assert sorted({c.asset for c in failed}) == sorted(warned), failed
    assert all(c.severity == "WARN" for c in failed), failed


def publish_sample(data_dir: Path, url: str) -> None:
    copy_sample(data_dir)
    run_pipeline(data_dir, url)
    room = RoomStore(Warehouse(url))
    room.create_tables()
    # Hashing at the library's defaults costs ~50 ms an account: the same hash serves all.
    hashed = hash_password(PASSWORD)
    for username, (role, petition) in ACCOUNTS.items():
        room.add_account(username, role, petition, hashed)
    room.store.dispose()


class Clock:
    """The room's clock, which a test moves forward to expire sessions."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def __call__(self) -> dt.datetime:
        return utcnow() + self.offset


@dataclass
class Room:
    url: str
    base: str
    data_dir: Path
    clock: Clock
    app: object = field(repr=False, default=None)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, follow_redirects=False, timeout=30)

    @contextmanager
    def login(self, username: str, password: str = PASSWORD) -> Iterator[httpx.Client]:
        with self.client() as client:
            response = sign_in(client, username, password)
            assert response.status_code == 303, (username, response.status_code)
            yield client

    def send(self) -> int:
        return self.app.state.room.send_entries()


def read(url: str, sql: str, **params) -> pd.DataFrame:
    """A query on the warehouse at `url`, as a test reads what the room or a run wrote."""
    store = Warehouse(url)
    try:
        return store.query(sql, params)
    finally:
        store.dispose()


def sign_in(client: httpx.Client, username: str, password: str) -> httpx.Response:
    form = client.get("/login")
    token = field_value(form.text, "login_token")
    return client.post(
        "/login", data={"username": username, "password": password, "login_token": token}
    )


def field_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name} in the page"
    return found.group(1)


@contextmanager
def serve(url: str, data_dir: Path, **overrides) -> Iterator[Room]:
    clock = Clock()
    app = create_app(
        RoomSettings(
            warehouse_url=url,
            data_dir=data_dir,
            send_every=0,
            secure_cookies=False,
            clock=clock,
            **overrides,
        )
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the room did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Room(url, f"http://127.0.0.1:{port}", data_dir, clock, app)
    finally:
        server.should_exit = True
        thread.join(30)
