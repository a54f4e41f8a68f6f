"""`recall-audit`: the command-line entry point for data teams and auditors.

    recall-audit generate --scenario la-2022 --scale 1 --seed 1 --out DIR --truth-out DIR
    recall-audit generate-examination --data-dir DIR --truth-dir DIR [--warehouse URL]
    recall-audit check-examination --truth-dir DIR [--warehouse URL]
    recall-audit run --data-dir DIR [--warehouse URL] [--batch PETITION/BATCH] [--wait SECONDS]
    recall-audit determination PETITION_ID [--warehouse URL] [--json]
    recall-audit trace PETITION_ID --reason CODE [--limit N] [--csv FILE] [--warehouse URL]
    recall-audit explain PETITION_ID SECTION PAGE LINE [--warehouse URL] [--json]
    recall-audit tables [--warehouse URL]
    recall-audit room --data-dir DIR [--warehouse URL] [--host H --port P]
    recall-audit room-account add|disable|enable|list [USERNAME] [--role R --petition P]

Heavy libraries (Dagster, Great Expectations) are imported only by the subcommand that needs
them, so `--help` and `generate` start quickly.

An error is one line on stderr, `recall-audit COMMAND: problem`, and an exit code (`--debug`
shows the traceback instead):

    0  done                      3  the warehouse cannot be opened or read
    1  the run failed            4  a blocking check failed
    2  usage: a bad argument, an unknown petition, reason or line, an unwritable output file

The read commands (determination, trace, explain, tables) open the warehouse read-only: a
DuckDB file must exist, and a read-only copy of one (what an auditor is given) serves.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from recall_pipeline import settings

# The profile names, without importing the scenario package (keeps `--help` quick).
PROFILE_NAMES = ("standard", "hard", "hardest")

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_WAREHOUSE, EXIT_CHECK = 0, 1, 2, 3, 4


class UsageError(Exception):
    """An argument the command cannot use (exit 2)."""


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a count (0 or more)")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line (`recall-audit trace: --limit: ...`), exit 2; `-h` shows the
    whole usage."""

    def error(self, message: str):
        print(f"{self.prog}: {message} (-h for usage)", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="recall-audit", description="Verify a recall petition against the voter roll."
    )
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a synthetic scenario and its truth")
    generate.add_argument("--scenario", default="la-2022")
    generate.add_argument("--scale", type=float, default=1.0)
    generate.add_argument("--seed", type=int, default=1)
    generate.add_argument("--out", type=Path, required=True, help="data directory to write")
    generate.add_argument(
        "--truth-out", type=Path, required=True, help="where the ground truth goes (kept apart)"
    )
    generate.add_argument(
        "--keying",
        default="standard",
        choices=sorted(PROFILE_NAMES),
        help="keying profile: how the lines are written and keyed, how the roll is written "
        "(standard: the original, which the LA 2022 figures rest on)",
    )
    generate.add_argument(
        "--city-petition",
        action="store_true",
        help="add a second petition, a Santa Clarita city recall verified by random sample",
    )
    generate.set_defaults(handler=_generate)

    examine = commands.add_parser(
        "generate-examination",
        help="write a generated scenario's challenges and rulings after its published finding, "
        "and the recount its truth expects",
    )
    examine.add_argument(
        "--data-dir", type=Path, required=True, help="the scenario's data directory"
    )
    examine.add_argument(
        "--truth-dir",
        type=Path,
        help="the scenario's truth (recall-audit generate --truth-out); the recount goes there",
    )
    examine.add_argument("--seed", type=int, default=1)
    examine.add_argument(
        "--challenges",
        metavar="N|SHARE",
        help="challenges to file per petition: a count, or a share of its invalid lines "
        "(0.105, the default: LA's proponents contested 20,587 of 195,783)",
    )
    examine.add_argument(
        "--open",
        type=float,
        default=0.1,
        metavar="SHARE",
        help="share of the challenges left without a ruling (default 0.1)",
    )
    examine.add_argument(
        "--started",
        type=_date,
        metavar="YYYY-MM-DD",
        help="the examination's first day when petition.yaml has none (default: 62 days after "
        "filing, 2022-09-06 for LA)",
    )
    examine.add_argument(
        "--petition",
        action="append",
        help="examine this petition (repeatable; default: every petition found INSUFFICIENT)",
    )
    examine.add_argument(
        "--remove",
        action="store_true",
        help="only remove the challenge and ruling files an earlier generation wrote, so that "
        "the next run publishes the finding",
    )
    examine.add_argument(
        "--warehouse",
        help=f"the finding's warehouse (default: ${settings.WAREHOUSE_URL_ENV} or "
        "data/warehouse.duckdb)",
    )
    examine.set_defaults(handler=_generate_examination)

    check = commands.add_parser(
        "check-examination",
        help="compare the run published after the rulings with the recount the truth expects",
    )
    check.add_argument(
        "--truth-dir", type=Path, required=True, help="where generate-examination wrote it"
    )
    _add_location_arguments(check, data_dir=False)
    check.set_defaults(handler=_check_examination)

    run = commands.add_parser("run", help="materialize the pipeline into the warehouse")
    _add_location_arguments(run, data_dir=True)
    run.add_argument(
        "--batch",
        action="append",
        metavar="PETITION/BATCH",
        help=(
            "verify only this scan batch (repeatable) on a verified warehouse, as the arrivals "
            "sensor does for a new scan file: its lines, and what follows from all batches"
        ),
    )
    run.add_argument(
        "--wait",
        type=float,
        default=3600.0,
        metavar="SECONDS",
        help="how long to wait for another run holding the warehouse (default 3600)",
    )
    run.set_defaults(handler=_run)

    determination = commands.add_parser(
        "determination", help="print a petition's determination from the warehouse"
    )
    determination.add_argument("petition_id")
    determination.add_argument("--json", action="store_true", help="machine-readable output")
    _add_location_arguments(determination, data_dir=False)
    determination.set_defaults(handler=_determination)

    trace = commands.add_parser("trace", help="the lines behind a count of the determination")
    trace.add_argument("petition_id")
    trace.add_argument(
        "--reason",
        required=True,
        help="a reason code, a registrar category, VALID, or RULED (the lines rulings decided "
        "again)",
    )
    trace.add_argument("--limit", type=_count, default=20, help="lines to print (default 20)")
    trace.add_argument("--csv", type=Path, help="write every line to this CSV file")
    _add_location_arguments(trace, data_dir=False)
    trace.set_defaults(handler=_trace)

    explain = commands.add_parser("explain", help="the whole story of one petition line")
    explain.add_argument("petition_id")
    explain.add_argument("section_id")
    explain.add_argument("page", type=int)
    explain.add_argument("line", type=int)
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    _add_location_arguments(explain, data_dir=False)
    explain.set_defaults(handler=_explain)

    examination = commands.add_parser(
        "examination", help="the proponents' examination: its set of lines and its standing"
    )
    examining = examination.add_subparsers(dest="examination_command", required=True)
    status = examining.add_parser(
        "status", help="lines to change the result, challenges and rulings so far, the clock"
    )
    status.add_argument("petition_id")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    _add_location_arguments(status, data_dir=False)
    status.set_defaults(handler=_examination_status)
    export = examining.add_parser(
        "export", help="write the invalid lines and their evidence, as the proponents see them"
    )
    export.add_argument("petition_id")
    export.add_argument("--out", type=Path, required=True, help="the file to write")
    export.add_argument(
        "--format",
        choices=["csv", "parquet"],
        help="csv or parquet (default: from the file's extension, else csv)",
    )
    _add_location_arguments(export, data_dir=False)
    export.set_defaults(handler=_examination_export)

    room = commands.add_parser(
        "room", help="serve the examination room: review, rulings and the dashboard (web)"
    )
    room.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    room.add_argument("--port", type=int, default=8080, help="port (8080)")
    room.add_argument(
        "--send-every",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how often new challenges and rulings are written to the data directory as "
        "input files (default 60; 0: only when an admin asks)",
    )
    room.add_argument(
        "--insecure-cookies",
        action="store_true",
        help="session cookies without the Secure flag, for a room served over plain HTTP on "
        "this machine only (behind a TLS proxy, leave it out)",
    )
    _add_location_arguments(room, data_dir=True)
    room.set_defaults(handler=_room)

    account = commands.add_parser("room-account", help="the examination room's accounts")
    accounts = account.add_subparsers(dest="account_command", required=True)
    add = accounts.add_parser("add", help="create an account (password from stdin or asked)")
    add.add_argument("username")
    add.add_argument("--role", required=True, help="proponent, examiner, observer or admin")
    add.add_argument("--petition", help="the petition a proponent reviewer is bound to")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    _add_location_arguments(add, data_dir=False)
    add.set_defaults(handler=_room_account_add)
    for verb in ("disable", "enable"):
        one = accounts.add_parser(verb, help=f"{verb} an account (disabling ends its sessions)")
        one.add_argument("username")
        _add_location_arguments(one, data_dir=False)
        one.set_defaults(handler=_room_account_state, verb=verb)
    listed = accounts.add_parser("list", help="list the accounts")
    _add_location_arguments(listed, data_dir=False)
    listed.set_defaults(handler=_room_account_list)

    tables = commands.add_parser("tables", help="list the warehouse's tables and row counts")
    _add_location_arguments(tables, data_dir=False)
    tables.set_defaults(handler=_tables)

    for command in commands.choices.values():
        # Also after the subcommand; given there only, so the top level's default stands.
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except Exception as exc:
        if args.debug:
            raise
        code, problem = _error(exc)
        print(f"recall-audit {args.command}: {problem}", file=sys.stderr)
        return code


def _error(exc: Exception) -> tuple[int, str]:
    """The exit code of an error and its one line."""
    from sqlalchemy import exc as sa_exc

    from recall_pipeline.audit.trace import TraceError
    from recall_pipeline.verify.report import UnknownPetition
    from recall_pipeline.warehouse import WarehouseUnavailable

    if isinstance(exc, UsageError | TraceError | UnknownPetition):
        return EXIT_USAGE, _one_line(str(exc))
    if isinstance(exc, WarehouseUnavailable):
        return EXIT_WAREHOUSE, _one_line(str(exc))
    if isinstance(exc, sa_exc.DBAPIError):
        return EXIT_WAREHOUSE, "cannot open or read the warehouse: " + _one_line(str(exc.orig))
    try:
        import duckdb
    except ImportError:  # pragma: no cover - duckdb is a dependency
        duckdb = None
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return EXIT_WAREHOUSE, "cannot open or read the warehouse: " + _one_line(str(exc))
    return EXIT_FAILED, f"{type(exc).__name__}: {_one_line(str(exc))} (--debug shows where)"


def _one_line(text: str) -> str:
    return "; ".join(part.strip() for part in text.strip().splitlines() if part.strip())


def _add_location_arguments(parser: argparse.ArgumentParser, data_dir: bool) -> None:
    if data_dir:
        parser.add_argument(
            "--data-dir",
            type=Path,
            help=f"the county's data directory (default: ${settings.DATA_DIR_ENV} or data/)",
        )
    parser.add_argument(
        "--warehouse",
        help=f"SQLAlchemy URL (default: ${settings.WAREHOUSE_URL_ENV} or data/warehouse.duckdb)",
    )


def _warehouse_url(args: argparse.Namespace) -> str:
    """--warehouse, else the same variable `dagster dev` and the daemon read."""
    if args.warehouse:
        _check_url(args.warehouse)
        return args.warehouse
    return settings.warehouse_url()


def _data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir:
        if not args.data_dir.is_dir():
            raise UsageError(f"--data-dir: {args.data_dir} is not a folder")
        return args.data_dir.resolve()
    return settings.data_dir()


def _check_url(url: str) -> None:
    from sqlalchemy import exc as sa_exc

    from recall_pipeline.warehouse import Warehouse

    try:
        Warehouse(url)
    except (sa_exc.ArgumentError, ValueError) as exc:
        raise UsageError(
            f"--warehouse: {_masked_text(url)!r} is not a warehouse URL "
            "(duckdb:///PATH/FILE.duckdb or postgresql://USER@HOST/DATABASE)"
        ) from exc


def _reader(args: argparse.Namespace):
    """The warehouse a read command reads: opened read-only, holding a published run."""
    from recall_pipeline.warehouse import Warehouse, WarehouseUnavailable

    url = _warehouse_url(args)
    store = Warehouse(url, read_only=True)
    if not store.table_exists("sufficiency_determination"):
        store.dispose()
        raise WarehouseUnavailable(
            f"{_masked(url)} holds no published run (recall-audit run writes one)"
        )
    return store


def _generate(args: argparse.Namespace) -> int:
    from recall_pipeline.scenario import generate_scenario

    started = time.perf_counter()
    summary = generate_scenario(
        args.scenario,
        args.scale,
        args.seed,
        args.out,
        args.truth_out,
        keying=args.keying,
        city_petition=args.city_petition,
    )
    print(
        f"generated {args.scenario} at scale {args.scale:g} (seed {args.seed}, keying "
        f"{args.keying}) into {args.out}"
    )
    for key in ("lines", "roll_rows", "registered_voters_basis", "required"):
        if key in summary:
            print(f"  {key:<24} {summary[key]:>12,}")
    for petition in summary.get("petitions", [])[1:]:
        print(f"  {petition['petition_id']:<24} {petition['raw_count']:>12,} lines")
    print(f"  truth in {args.truth_out}  ({time.perf_counter() - started:.1f} s)")
    return 0


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def _generate_examination(args: argparse.Namespace) -> int:
    from recall_pipeline.scenario import examination as ex

    if not args.data_dir.is_dir():
        raise UsageError(f"--data-dir: {args.data_dir} is not a folder")
    if args.remove:
        petitions = args.petition or sorted(
            p.name for p in (args.data_dir / "petitions").iterdir() if p.is_dir()
        )
        removed = sum(ex.remove_examination(args.data_dir, pid) for pid in petitions)
        print(f"removed {removed} generated challenge and ruling file(s) from {args.data_dir}")
        return EXIT_OK
    if args.truth_dir is None:
        raise UsageError("--truth-dir is required (unless --remove)")
    if not 0 <= args.open <= 1:
        raise UsageError(f"--open: {args.open} is not a share (0.0 to 1.0)")
    if args.challenges is not None:
        try:
            ex.challenge_count(args.challenges, 0)
        except ValueError as exc:
            raise UsageError(f"--challenges: {exc}") from exc
    # The finding as published: read only, and refused when the warehouse holds no run.
    with _reader(args) as store:
        try:
            recounts = ex.generate_examination(
                store,
                args.data_dir,
                args.truth_dir,
                seed=args.seed,
                challenges=args.challenges,
                open_share=args.open,
                started=args.started,
                petitions=args.petition,
            )
        except ex.ExaminationInputError as exc:
            raise UsageError(str(exc)) from exc
    for r in recounts:
        t = r["challenges"]
        before, after = r["at_finding"], r["after_rulings"]
        print(
            f"{r['petition_id']}: {t['filed']:,} challenges ({t['sound']:,} sound) from "
            f"{r['examination_started']}: {t['accepted']:,} accepted, {t['rejected']:,} "
            f"rejected, {t['open']:,} open"
        )
        for reason, n in sorted(t["by_reason"].items()):
            print(
                f"  {reason:<20} {n['filed']:>8,} filed {n['sound']:>6,} sound "
                f"{n['accepted']:>6,} accepted {n['reinstated']:>6,} reinstated"
            )
        print(
            f"  expected: valid {before['valid']:,} at the finding -> {after['valid']:,} after "
            f"the rulings ({r['reinstated']:,} reinstated, {r['changed_lines']:,} line(s) "
            f"changed), {after['result']}"
        )
        if r["no_sound_challenge_truth_reason_missed"]:
            print(
                f"  no sound challenge: {r['no_sound_challenge_truth_reason_missed']:,} line(s) "
                "whose true reason the finding missed (a line or section rule no ruling revisits)"
            )
    print(f"  challenges and rulings in {args.data_dir}; the recount in {args.truth_dir}")
    return EXIT_OK


def _check_examination(args: argparse.Namespace) -> int:
    from recall_pipeline.scenario import examination as ex

    try:
        summaries, _ = ex.read_expected(args.truth_dir)
    except ex.ExaminationInputError as exc:
        raise UsageError(str(exc)) from exc
    by_id = {s["petition_id"]: s for s in summaries}
    with _reader(args) as store:
        checks = ex.check_recount(store, args.truth_dir)
    for check in checks:
        print(ex.render_check(check, by_id[check.petition_id]))
    return EXIT_OK if all(c.passed for c in checks) else EXIT_CHECK


def _run(args: argparse.Namespace) -> int:
    from recall_pipeline.runner import Locations, materialize_all

    data_dir = _data_dir(args)
    if not data_dir.is_dir():
        raise UsageError(f"the data directory {data_dir} is not a folder (--data-dir)")
    url = _warehouse_url(args)
    locations = Locations(url, data_dir, settings.reports_dir())
    print(f"data directory: {data_dir}")
    print(f"warehouse:      {_masked(url)}")
    if args.batch:
        from recall_pipeline.definitions import defs
        from recall_pipeline.defs.batches.automation import (
            PETITION_TAG,
            REASON_TAG,
            batch_run_assets,
        )
        from recall_pipeline.defs.common import petition_of

        selection = batch_run_assets(defs().resolve_asset_graph())
        print(f"scan batches:   {', '.join(args.batch)}")
        tags = {REASON_TAG: f"by hand: scan batch(es) {', '.join(args.batch)}"}
        petitions = {petition_of(b) for b in args.batch}
        if len(petitions) == 1:
            # The same per-petition queue limit as the sensor's runs.
            tags[PETITION_TAG] = petitions.pop()
        outcome = materialize_all(
            progress=print,
            selection=selection,
            batches=args.batch,
            tags=tags,
            locations=locations,
            wait=args.wait,
        )
    else:
        outcome = materialize_all(progress=print, locations=locations, wait=args.wait)
    print()
    failed_checks = [c for c in outcome.checks if not c.passed]
    blocking = any(c.severity == "ERROR" for c in failed_checks)
    if not outcome.success:
        print("run FAILED:", file=sys.stderr)
        for message in outcome.errors:
            print(f"  {message}", file=sys.stderr)
        if failed_checks:
            print("failed checks:", file=sys.stderr)
            _print_checks(failed_checks, sys.stderr)
        return EXIT_CHECK if blocking else EXIT_FAILED
    # What this run published, whatever another may have published since.
    _print_tables(url, outcome.publication)
    _print_determinations(url, outcome.publication)
    print(
        f"\nchecks: {len(outcome.checks) - len(failed_checks)} passed, {len(failed_checks)} failed"
    )
    _print_checks(failed_checks, sys.stdout)
    return EXIT_CHECK if blocking else EXIT_OK


# A check's metadata is written for Dagster's event log (counts, files, rows, identifying keys;
# never personal data): printed whole it would bury the line that matters, so long lists and
# mappings are cut, and the event log keeps them whole.
_ITEMS_SHOWN = 10
_MAPPING_CHARS = 240


def check_report(check) -> list[str]:
    """A failed check as printed: its name and what it proves, then what it found."""
    lines = [f"{check.severity:<5} {check.asset}.{check.name}: {check.description}".rstrip(": ")]
    for key, value in check.metadata.items():
        if isinstance(value, list | tuple):
            lines.append(f"      {key}: {len(value)}" if value else f"      {key}: none")
            lines += [f"        - {item}" for item in value[:_ITEMS_SHOWN]]
            if len(value) > _ITEMS_SHOWN:
                lines.append(f"        … {len(value) - _ITEMS_SHOWN} more")
        elif isinstance(value, dict):
            text = json.dumps(value, default=str, ensure_ascii=False)
            cut = text if len(text) <= _MAPPING_CHARS else text[: _MAPPING_CHARS - 1] + "…"
            lines.append(f"      {key}: {cut}")
        else:
            lines.append(f"      {key}: {value}")
    return lines


def _print_checks(checks, file) -> None:
    # Blocking failures first: they are why a run stopped.
    for check in sorted(checks, key=lambda c: c.severity != "ERROR"):
        for line in check_report(check):
            print(f"  {line}", file=file)


def _determination(args: argparse.Namespace) -> int:
    from recall_pipeline.verify.report import load_determination, render

    with _reader(args) as store:
        report = load_determination(store, args.petition_id)
    print(json.dumps(report, indent=2, default=str) if args.json else render(report))
    return EXIT_OK


def _examination_status(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from recall_pipeline.services.examination import current_standing
    from recall_pipeline.services.io import petition_configs
    from recall_pipeline.verify.examination import render
    from recall_pipeline.verify.report import load_determination

    with _reader(args) as store:
        load_determination(store, args.petition_id)  # an unknown petition: a usage error
        (config,) = petition_configs(store, [args.petition_id])
        petition, reasons = current_standing(store, config)
    if args.json:
        report = {**asdict(petition), "reasons": [asdict(r) for r in reasons]}
        print(json.dumps(report, indent=2, default=str))
    else:
        print(render(petition, reasons))
    return EXIT_OK


def _examination_export(args: argparse.Namespace) -> int:
    from recall_pipeline.verify.examination import EXAMINATION_SET
    from recall_pipeline.verify.report import load_determination

    kind = args.format or ("parquet" if args.out.suffix.lower() == ".parquet" else "csv")
    with _reader(args) as store:
        load_determination(store, args.petition_id)
        rows = store.read(EXAMINATION_SET, where={"petition_id": args.petition_id})
    # In the order to examine it: the lines most likely wrongly invalid first.
    rows = rows.sort_by(
        [
            ("review_priority", "descending"),
            *((c, "ascending") for c in ("section_id", "page", "line")),
        ]
    )
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if kind == "parquet":
            import pyarrow.parquet as pq

            pq.write_table(rows, args.out)
        else:
            import pyarrow.csv as pacsv

            pacsv.write_csv(rows, args.out)
    except OSError as exc:
        raise UsageError(f"--out {args.out}: cannot write ({exc.strerror})") from exc
    print(f"{rows.num_rows:,} invalid line(s) of {args.petition_id} written to {args.out}")
    return EXIT_OK


def _room(args: argparse.Namespace) -> int:
    import uvicorn

    from recall_pipeline.room.app import RoomSettings, create_app

    if args.insecure_cookies and args.host not in ("127.0.0.1", "localhost", "::1"):
        raise UsageError(
            "--insecure-cookies: only on a loopback --host; serve other addresses behind TLS"
        )
    url = _warehouse_url(args)
    data_dir = _data_dir(args)
    app = create_app(
        RoomSettings(
            warehouse_url=url,
            data_dir=data_dir,
            send_every=args.send_every,
            secure_cookies=not args.insecure_cookies,
        )
    )
    print(f"examination room on http://{args.host}:{args.port}/ ({_masked(url)}, {data_dir})")
    if not app.state.room.room.accounts():
        print("no accounts yet: recall-audit room-account add NAME --role admin", file=sys.stderr)
    # One process: the order lines are handed out in is kept in its memory. Idle connections
    # are kept 75 s, past a reviewer's time on a line: closed at uvicorn's 5 s, a form sent
    # as the room closes its connection fails with no answer, and so does a proxy's request
    # on a connection it keeps longer than the room (nginx keeps them 60 s).
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=75,
    )
    return EXIT_OK


def _room_store(args: argparse.Namespace):
    from recall_pipeline.room.store import RoomStore
    from recall_pipeline.warehouse import Warehouse

    room = RoomStore(Warehouse(_warehouse_url(args)))
    room.create_tables()
    return room


def _room_account_add(args: argparse.Namespace) -> int:
    import getpass

    from recall_pipeline.room.accounts import AccountError, check_new_account, hash_password

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.username}: ")
    try:
        role = check_new_account(args.username, args.role, args.petition, password)
    except AccountError as exc:
        raise UsageError(str(exc)) from exc
    room = _room_store(args)
    try:
        if room.password_hash(args.username) is not None:
            raise UsageError(f"{args.username}: the account exists already")
        room.add_account(args.username, role, args.petition, hash_password(password))
    finally:
        room.store.dispose()
    where = f" on {args.petition}" if args.petition else ""
    print(f"account {args.username} created: {role.value}{where}")
    return EXIT_OK


def _room_account_state(args: argparse.Namespace) -> int:
    room = _room_store(args)
    try:
        if not room.set_disabled(args.username, args.verb == "disable"):
            raise UsageError(f"{args.username}: no such account")
    finally:
        room.store.dispose()
    print(f"account {args.username} {args.verb}d")
    return EXIT_OK


def _room_account_list(args: argparse.Namespace) -> int:
    room = _room_store(args)
    try:
        for row in room.accounts():
            state = "disabled" if row["disabled"] else "active"
            print(f"{row['username']:<24} {row['role']:<10} {row['petition_id'] or '':<24} {state}")
    finally:
        room.store.dispose()
    return EXIT_OK


def _trace(args: argparse.Namespace) -> int:
    from recall_pipeline.audit.trace import trace

    out = None
    if args.csv:
        try:
            out = args.csv.open("w", encoding="utf-8", newline="")
        except OSError as exc:
            raise UsageError(f"--csv {args.csv}: cannot write ({exc.strerror})") from exc
    try:
        with _reader(args) as store:
            count, lines = trace(store, args.petition_id, args.reason, limit=args.limit)
            if out is not None:
                _, every_line = trace(store, args.petition_id, args.reason)
                every_line.to_csv(out, index=False)
    finally:
        if out is not None:
            out.close()
    print(f"{args.reason}: {count:,} line(s) in {args.petition_id}")
    if len(lines):
        shown = lines[["section_id", "page", "line", "source_file", "source_row", "voter_id",
                       "match_method", "match_score", "reason_code"]]  # fmt: skip
        print(shown.to_string(index=False))
        if count > len(lines):
            print(f"... {count - len(lines):,} more (use --limit or --csv)")
    if args.csv:
        print(f"wrote {count:,} line(s) to {args.csv}")
    return EXIT_OK


def _explain(args: argparse.Namespace) -> int:
    from recall_pipeline.audit.trace import explain, render_explanation

    with _reader(args) as store:
        story = explain(store, args.petition_id, args.section_id, args.page, args.line)
    print(json.dumps(story, indent=2, default=str) if args.json else render_explanation(story))
    return EXIT_OK


def _print_determinations(url: str, publication: str | None) -> None:
    from recall_pipeline.verify.report import load_determination, petition_ids, render
    from recall_pipeline.warehouse import Warehouse

    # Held: a report reads a dozen tables, and each read would otherwise attach the file anew.
    with Warehouse(url, publication=publication).hold() as store:
        for petition_id in petition_ids(store):
            print()
            print(render(load_determination(store, petition_id)))


def _tables(args: argparse.Namespace) -> int:
    from recall_pipeline.warehouse import Warehouse

    with Warehouse(_warehouse_url(args), read_only=True) as store:
        _print_table_counts(store)
    return EXIT_OK


def _print_tables(url: str, publication: str | None) -> None:
    from recall_pipeline.warehouse import Warehouse

    with Warehouse(url, publication=publication).hold() as store:
        _print_table_counts(store)


def _print_table_counts(store) -> None:
    print(f"{'table':<28} {'rows':>12}")
    for name in store.table_names():
        print(f"{name:<28} {store.row_count(name):>12,}")


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _masked_text(url: str) -> str:
    """A URL as given, its password hidden if it parses at all."""
    try:
        return _masked(url)
    except Exception:
        return url


if __name__ == "__main__":
    sys.exit(main())
