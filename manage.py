#!/usr/bin/env python
"""Operator commands and the local host. `python manage.py --help` lists them."""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
LOCAL_SETTINGS = ROOT / "local.settings.json"
EXAMPLE_SETTINGS = ROOT / "local.settings.example.json"
GENERATED_KEYS = ("JWT_SIGNING_KEY", "LENDING_SIGNING_KEY", "LENDING_WEBHOOK_KEY")  # random per machine


def load_local_settings(path: Path = LOCAL_SETTINGS) -> None:
    """Put `Values` of local.settings.json into the environment, as `func start` does.

    The environment wins; then local.settings.json; then the example's non-empty defaults
    (the schedules), so a local.settings.json older than a new setting still works.
    """
    values: dict[str, object] = {}
    for source in (EXAMPLE_SETTINGS, path):
        if not source.exists():
            continue
        try:
            found = json.loads(source.read_text()).get("Values", {})
        except ValueError as exc:
            raise SystemExit(f"error: {source.name} is not valid JSON: {exc}") from None
        values.update({k: v for k, v in found.items() if not k.startswith("_") and v not in (None, "")})
    for key, value in values.items():
        if key not in os.environ:
            os.environ[key] = str(value)


def cmd_init_settings(args: argparse.Namespace) -> int:
    """Create local.settings.json from the example, with a fresh random JWT signing key.

    An existing file is kept; settings the example has and it lacks are added to it.
    """
    example = json.loads(EXAMPLE_SETTINGS.read_text())
    if LOCAL_SETTINGS.exists() and not args.force:
        config = json.loads(LOCAL_SETTINGS.read_text())
        wanted = [k for k in example["Values"] if not k.startswith("_") and k not in config["Values"]]
        missing = {k: secrets.token_urlsafe(48) if k in GENERATED_KEYS else example["Values"][k] for k in wanted}
        if missing:
            config["Values"].update(missing)
            LOCAL_SETTINGS.write_text(json.dumps(config, indent=2) + "\n")
            print(f"{LOCAL_SETTINGS.name}: added {', '.join(sorted(missing))}")
        else:
            print(f"{LOCAL_SETTINGS.name} exists; keeping it (use --force to replace)")
        return 0
    config = example
    for key in GENERATED_KEYS:
        config["Values"][key] = secrets.token_urlsafe(48)
    config["Values"] = {k: v for k, v in config["Values"].items() if not k.startswith("_")}
    LOCAL_SETTINGS.write_text(json.dumps(config, indent=2) + "\n")
    print(f"wrote {LOCAL_SETTINGS.name} with new random {', '.join(GENERATED_KEYS)}")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from settings import get_settings
    from sql.migrate import upgrade

    url = args.url or get_settings().sql_url
    upgrade(url, args.revision)
    print(f"database at revision {args.revision}")
    return 0


def cmd_azure_sql(args: argparse.Namespace) -> int:
    from sql.migrate import AZURE_SQL, azure_sql

    text = azure_sql()
    if args.check:
        if not AZURE_SQL.exists() or AZURE_SQL.read_text() != text:
            print(f"{AZURE_SQL.relative_to(ROOT)} is stale: run `python manage.py azure-sql`", file=sys.stderr)
            return 1
        print(f"{AZURE_SQL.relative_to(ROOT)} is up to date")
        return 0
    AZURE_SQL.parent.mkdir(parents=True, exist_ok=True)
    AZURE_SQL.write_text(text)
    print(f"wrote {AZURE_SQL.relative_to(ROOT)}")
    return 0


def _generated_docs() -> dict[str, str]:
    """docs/ files rendered from the code: the OpenAPI documents, the collections field reference,
    the file layouts and the money invariants."""
    from domain.collections.openapi import openapi_document as collections_document
    from domain.collections.reference import render_reference
    from domain.invariants import render_invariants
    from domain.layouts.reference import render_layouts
    from domain.yapago_openapi import openapi_document as yapago_document

    return {
        "yapago-openapi.json": json.dumps(yapago_document(), indent=2, ensure_ascii=False) + "\n",
        "collections-openapi.json": json.dumps(collections_document(), indent=2, ensure_ascii=False) + "\n",
        "collections-fields.md": render_reference(),
        "file-layouts.md": render_layouts(),
        "invariants.md": render_invariants(),
    }


def cmd_openapi(args: argparse.Namespace) -> int:
    stale = 0
    for name, text in _generated_docs().items():
        target = ROOT / "docs" / name
        if args.check:
            if not target.exists() or target.read_text(encoding="utf-8") != text:
                print(f"docs/{name} is stale: run `python manage.py openapi`", file=sys.stderr)
                stale += 1
            continue
        target.write_text(text, encoding="utf-8")
        print(f"wrote docs/{name}")
    return 1 if stale else 0


SECRET_HELP = (
    "the client's secret: - (the default) reads it from standard input (a prompt on a terminal), env:NAME from an "
    "environment variable; a literal value works but stays in the shell's history"
)


def read_secret(given: str | None, what: str = "client secret") -> str:
    """A secret from where argv does not show it: `-` or nothing (standard input, one line; a
    prompt without echo on a terminal) or `env:NAME`. A literal still works (the interface
    scripts rely on), with a warning on stderr."""
    import getpass

    if given is None or given == "-":
        if sys.stdin.isatty():
            first, again = getpass.getpass(f"{what}: "), getpass.getpass(f"{what} again: ")
            if first != again:
                print("error: the two entries differ", file=sys.stderr)
                raise SystemExit(2)
            return first
        return sys.stdin.readline().rstrip("\r\n")
    if given.startswith("env:"):
        value = os.environ.get(given[4:], "")
        if not value:
            print(f"error: environment variable {given[4:]} is not set or is empty", file=sys.stderr)
            raise SystemExit(2)
        return value
    print("warning: a secret on the command line stays in the shell's history and shows in ps: use --secret - "
          "(standard input) or --secret env:NAME", file=sys.stderr)  # fmt: skip
    return given


def cmd_create_client(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.clients import register_client

    secret = read_secret(args.secret)
    saved = register_client(bootstrap.unit_of_work, args.id, secret, args.scopes, bootstrap.utc_now(), args.banks,
                            args.channels)  # fmt: skip
    scopes = ",".join(sorted(s.value for s in saved.scopes))
    print(f"client {saved.client_id} {'created' if saved.created else 'updated'} with scopes {scopes}")
    return 0


def cmd_clients(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.reports import client_rows

    rows = client_rows(bootstrap.engine(), args.id)
    if args.id and not rows:
        print(f"error: no client {args.id}", file=sys.stderr)
        return 2
    for r in rows:
        state = "active" if r.active else "DISABLED"
        if not args.id:
            bound = (f"  banks {r.banks}" if r.banks else "") + (f"  channels {r.channels}" if r.channels else "")
            print(f"{r.client_id:<24} {state:<8} scopes {r.scopes.replace(' ', ',')}{bound}")
            continue
        print(f"client      {r.client_id}\nstate       {state}\nscopes      {r.scopes.replace(' ', ',')}")
        print(f"banks       {r.banks or 'any (not bound)'}\nchannels    {r.channels or 'none'}")
        print(f"credentials version {r.credential_version} (tokens of an earlier version are refused)")
        locked = f", locked until {r.locked_until:%Y-%m-%d %H:%M:%S}Z" if r.locked_until else ""
        print(f"wrong secrets in a row: {r.failed_attempts}{locked}")
        print(f"created     {r.created_at:%Y-%m-%d %H:%M:%S}Z\nchanged     {r.updated_at:%Y-%m-%d %H:%M:%S}Z")
    if not rows:
        print("no clients (python manage.py create-client ...)")
    return 0


def cmd_set_client_active(args: argparse.Namespace, active: bool) -> int:
    import bootstrap
    from usecases.clients import set_client_active

    if not set_client_active(bootstrap.unit_of_work, args.id, active, bootstrap.utc_now()):
        print(f"error: no client {args.id}", file=sys.stderr)
        return 2
    print(f"client {args.id} {'enabled' if active else 'disabled'}")
    return 0


def cmd_create_company(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.companies import create_company

    company, created = create_company(
        bootstrap.unit_of_work, args.code, args.name, args.service or [], args.account or [], bootstrap.utc_now()
    )
    from usecases.load_debts import complete_folder, pending_folder, rejected_folder

    services = ", ".join(f"{s.code}:{s.validation_mode.value}:{s.currency.value}" for s in company.services)
    print(f"company {company.folder} {company.name} {'created' if created else 'updated'}; services {services or '-'}")
    store = bootstrap.file_store()
    code = int(company.folder)
    folders = (pending_folder(code), complete_folder(code), rejected_folder(code), f"{company.folder}/Pagos")
    for folder in folders:
        store.mkdir(folder)
    print(f"folders in {store.url}: {', '.join(f + '/' for f in folders)}")
    print(f"tell the company: put debt files named D{company.folder}<ddmmyyyy><nnn>.TXT in {folders[0]}/; the "
          f"results (.OK, .ERR) appear in {folders[1]}/, files that are not debt files in {folders[2]}/, payment "
          f"files in {folders[3]}/")  # fmt: skip
    return 0


def cmd_set_company_active(args: argparse.Namespace, active: bool) -> int:
    import bootstrap
    from domain.companies import parse_company_code
    from usecases.companies import set_company_active

    code = parse_company_code(args.code)
    if not set_company_active(bootstrap.unit_of_work, code, active, bootstrap.utc_now()):
        print(f"error: no company {code}", file=sys.stderr)
        return 2
    if active:
        print(f"company {code:05d} active: its debts are offered and its files loaded again")
    else:
        print(f"company {code:05d} deactivated: within 30 s banks are told it does not collect (codResp 20) and its "
              "files stay in Pending/ unread; reversals of its payments and its payment files go on")  # fmt: skip
    return 0


def cmd_seed_demo(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.companies import DEMO_CLIENT_SECRET, DEMO_OPERATOR_ID, DEMO_OPERATOR_SECRET, seed_demo

    company, client = seed_demo(
        bootstrap.unit_of_work,
        bootstrap.utc_now(),
        os.environ.get("DEMO_CLIENT_SECRET") or DEMO_CLIENT_SECRET,
        os.environ.get("DEMO_OPERATOR_SECRET") or DEMO_OPERATOR_SECRET,
    )
    bootstrap.file_store().mkdir(f"{company.folder}/Deudas/Pending")
    bootstrap.file_store().mkdir("dispersiones/respuestas")  # where the bank's answers are dropped
    from usecases.lending import DEMO_CUSTOMERS, seed_lending_demo

    seed_lending_demo(bootstrap.engine(), bootstrap.utc_now(), args.webhook_base)
    print(f"demo company {company.folder} ({company.name}) with services {', '.join(s.code for s in company.services)}")
    print(f"demo client {client.client_id} with scopes {','.join(sorted(s.value for s in client.scopes))}")
    print(f"demo operator {DEMO_OPERATOR_ID} (scope operator) for the console")
    hooks = f", webhooks at {args.webhook_base}/hooks/<channel>" if args.webhook_base else ""
    print(f"lending channels KOF, PRONTO{hooks}; customers {', '.join(DEMO_CUSTOMERS)} (the fake Mambu's)")
    return 0


def cmd_seed_demo_day(args: argparse.Namespace) -> int:
    from fakes.demo_day import seed_day
    from usecases.companies import DEMO_CLIENT_SECRET

    done = seed_day(os.environ.get("DEMO_CLIENT_SECRET") or DEMO_CLIENT_SECRET)
    for name, outcome, applied, rejected in done["debt_files"]:
        print(f"debt file {name} {outcome}: {applied} lines applied, {rejected} rejected")
    print(f"YAPAGO: {done['pagos']} pagos, {done['refusals']} refused calls; {done['waiting']} pagos wait for the "
          f"next payment file")  # fmt: skip
    lending = done["lending"]
    if lending is None:
        print("lending: purchases already there, left as they are")
    else:
        print(f"lending: {lending['purchases']} purchases dispatched, {lending['answered']} answered by the bank")
    return 0


def cmd_create_channel(args: argparse.Namespace) -> int:
    """Create a channel, or change only the options given; say what changed and what it does to
    the channel's webhook events."""
    import bootstrap
    from domain.lending import LendingError
    from usecases.lending import save_channel

    try:
        done = save_channel(bootstrap.engine(), args.channel, args.name, args.clabe, args.webhook,
                            bootstrap.utc_now(), clear_webhook=args.no_webhook)  # fmt: skip
    except LendingError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    ch = done.channel
    labels = {"name": "name", "clabe": "CLABE", "webhook_url": "webhook"}
    if done.created:
        given = ", ".join(f"{labels[k]} {after}" for k, (_, after) in done.changes.items())
        print(f"channel {ch} created: {given}")
    elif not done.changes:
        print(f"channel {ch}: nothing changed (name, CLABE and webhook as they were)")
    for field, (before, after) in ({} if done.created else done.changes).items():
        print(f"channel {ch}: {labels[field]} {before or '(none)'} -> {after or '(none)'}")
    if done.webhook_url is None:
        print(f"channel {ch} has no webhook URL: its disbursement confirmations are PARKED, not sent (listed by "
              f"`manage.py webhooks --parked`) until one is set with `create-channel --channel {ch} "
              "--webhook URL`")  # fmt: skip
    if done.parked_now:
        print(f"{done.parked_now} pending webhook event(s) of {ch} parked now; after setting a URL: "
              f"`manage.py replay-webhook --channel {ch}`")  # fmt: skip
    waiting = sum(done.waiting.values())
    if waiting and done.webhook_url is not None:
        print(f"{waiting} webhook event(s) of {ch} wait for an operator ({done.waiting['PARKED']} parked, "
              f"{done.waiting['FAILED']} given up): send them to {done.webhook_url} with "
              f"`manage.py replay-webhook --channel {ch}`")  # fmt: skip
    return 0


def cmd_release_purchase(args: argparse.Namespace) -> int:
    import bootstrap
    from domain.lending import LendingError
    from usecases.lending import release_purchase

    try:
        done = release_purchase(bootstrap.engine(), args.purchase_id, args.reason, bootstrap.utc_now)
    except LendingError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    print(f"purchase {done['purchaseId']} {done['state']}: {done['reason']}; {done['amount']} MXN of "
          f"{done['customerId']}'s line released")  # fmt: skip
    return 0


def cmd_holds(args: argparse.Namespace) -> int:
    import bootstrap
    from domain.lending import MEXICO
    from domain.lending.states import MONEY_MAY_MOVE, State
    from sql.engine import stored_utc
    from usecases.lending import holds

    rows = holds(bootstrap.engine(), args.customer, args.limit)
    now = bootstrap.utc_now()
    for r in rows:
        since = stored_utc(r.updated_at)
        if State(r.state) in MONEY_MAY_MOVE:
            end = "until the bank answers (manage.py disbursements)"
        elif r.expires_at is not None:
            end = f"expires {stored_utc(r.expires_at).astimezone(MEXICO):%Y-%m-%d %H:%M:%S %z}"
        else:
            end = "no deadline: expires at the next timer tick"
        print(f"{r.id}  {r.customer_id:<12} {r.channel:<7} {r.amount:>12} MXN  {r.state:<13} "
              f"for {int((now - since).total_seconds() // 60)} min  {end}")  # fmt: skip
    if not rows:
        print("no purchase holds credit" + (f" of {args.customer}" if args.customer else ""))
    return 0


def cmd_create_customer(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.lending import save_customer

    save_customer(bootstrap.engine(), args.id, args.phone, bootstrap.utc_now())
    print(f"customer {args.id} with phone {args.phone}")
    return 0


_OFFERS = {
    "written": "written",
    "found": "was in the bank's folder already (a run stopped before marking it): marked sent, not written again",
    "answered": "was answered by the bank (a run stopped before marking it): marked sent, not written again",
    "uncertain": "NOT offered again: a run stopped while offering it and it is gone, so the bank may have it",
    "parked": "still held for an operator (it may be with the bank): not offered again",
}


def print_offer(r: object, retry: bool = False) -> None:
    """One line per dispersion or retry file a run wrote, settled or held; the alert under it."""
    state = _OFFERS.get(r.outcome, r.outcome)
    if r.outcome == "written" and r.recovered:
        state = "written (reserved by a run that stopped before offering it)"
    print(f"{'retry file ' if retry else ''}{r.file_name} {state}: {r.records} transfers, "
          f"{r.total_cents // 100}.{r.total_cents % 100:02d} MXN")  # fmt: skip
    if r.alert:
        print(f"  {r.alert}")


def cmd_dispatch_disbursements(args: argparse.Namespace) -> int:
    from blueprints.disbursements import run_dispatch

    results = run_dispatch()
    for r in results:
        print_offer(r)
    if not any(not r.recovered for r in results):
        print("no approved purchases to send")
    return 0


def cmd_resend_dispersion(args: argparse.Namespace) -> int:
    from blueprints.disbursements import run_resend
    from usecases.disbursements import ResendRefused

    try:
        result = run_resend(args.name, args.bank_confirms_not_received)
    except ResendRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{result.file_name} offered again, the same bytes under its name: {result.records} transfers, "
          f"{result.total_cents // 100}.{result.total_cents % 100:02d} MXN; its alert is resolved")  # fmt: skip
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.alerts import list_alerts

    found = list_alerts(bootstrap.engine(), open_only=not args.all, limit=args.limit)
    for a in found:
        state = f"resolved {a.resolved_at:%Y-%m-%d %H:%M:%S}Z: {a.resolution}" if a.resolved_at else "OPEN"
        print(f"#{a.id}  {a.created_at:%Y-%m-%d %H:%M:%S}Z  {a.kind:<20} {state}")
        print(f"    {a.detail}")
    if not found:
        print("no open alerts" if not args.all else "no alerts")
    return 0


def cmd_resolve_alert(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.alerts import AlertNotFound, find_alert, resolve_alert
    from usecases.disbursements import ResendRefused, confirm_received, parked_file

    engine, now = bootstrap.engine(), bootstrap.utc_now()
    try:
        with engine.connect() as conn:
            alert = find_alert(conn, args.id)
        parked = parked_file(engine, alert.file_name) if alert.kind == "dispersion_uncertain" else None
        if parked is not None and alert.resolved_at is None:
            if not args.bank_confirms_received:
                print(f"error: {parked} is held because the bank may have it: resolve this alert with "
                      f"--bank-confirms-received once the bank says it has it (it is then marked sent), or "
                      f"resend-dispersion {parked} --bank-confirms-not-received if it does not",
                      file=sys.stderr)  # fmt: skip
                return 2
            confirm_received(engine, parked, now, args.note)
            alert = resolve_alert(engine, args.id, args.note, now)
        else:
            alert = resolve_alert(engine, args.id, args.note, now)
    except (AlertNotFound, ResendRefused) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"alert #{alert.id} resolved: {alert.resolution}")
    return 0


def cmd_process_responses(args: argparse.Namespace) -> int:
    from blueprints.disbursements import run_responses

    results, retry_files = run_responses()
    for r in results:
        if r.already_applied:
            print(f"{r.file_name}: already applied earlier; moved to procesados/")
            continue
        print(f"{r.file_name}: {r.lines} lines, {r.disbursed} disbursed, {r.retried} to retry, {r.failed} failed, "
              f"{r.malformed} malformed, {r.unknown} unknown, {r.duplicates} duplicates")  # fmt: skip
        for problem in r.problems:
            print(f"  {problem}")
        for taken in r.taken:
            print(f"  {taken}: the bank answered its lines, so it had it: marked sent")
        for alert in r.alerts:
            print(f"  {alert}")
    for f in retry_files:
        print_offer(f, retry=True)
    if not results:
        print("no response files in dispersiones/respuestas/")
    return 0


def cmd_disbursements(args: argparse.Namespace) -> int:
    from datetime import timedelta

    import bootstrap
    from usecases.disbursements import in_flight

    older = bootstrap.utc_now() - timedelta(hours=args.older_than_hours)
    rows = in_flight(bootstrap.engine(), older, args.state, args.limit)
    for r in rows:
        held = " (HELD: may be with the bank, see alerts)" if r.file_parked_at and not r.file_sent_at else ""
        print(f"{r.id}  {r.channel:<7} {r.amount:>12} MXN  {r.state}  attempt {r.attempt} in {r.file_name}{held}  "
              f"since {r.updated_at:%Y-%m-%d %H:%M}Z  {r.reason}")  # fmt: skip
    if not rows:
        print(f"no purchases {args.state} for more than {args.older_than_hours} h")
    return 0


def _print_deliveries(deliveries: list) -> None:
    for d in deliveries:
        if d.state == "PARKED":
            print(f"{d.event_id} -> {d.channel}: PARKED, not sent ({d.error})")
            continue
        after = f", next try {d.next_attempt_at:%Y-%m-%d %H:%M:%S}Z" if d.next_attempt_at else ""
        why = f" ({d.error})" if d.error else ""
        print(f"{d.event_id} -> {d.channel}: {d.state} after {d.attempts} tries, status {d.status}{why}{after}")


def cmd_deliver_webhooks(args: argparse.Namespace) -> int:
    from blueprints.disbursements import run_webhooks

    deliveries = run_webhooks(args.event)
    _print_deliveries(deliveries)
    if not deliveries:
        print("no webhook events due")
    return 0


def cmd_book_drawdowns(args: argparse.Namespace) -> int:
    from blueprints.disbursements import run_drawdowns

    bookings = run_drawdowns(args.purchase)
    for b in bookings:
        print(f"{b.purchase_id}  {b.customer_id:<10} {b.amount:>12} MXN  {b.state:<7} tries={b.attempts} "
              f"{b.transaction_id or b.error or ''}")  # fmt: skip
    if not bookings:
        print("no drawdowns due")
    return 0


def cmd_drawdowns(args: argparse.Namespace) -> int:
    import bootstrap
    from sql.engine import stored_utc
    from usecases.drawdowns import list_drawdowns

    for d in list_drawdowns(bootstrap.engine(), args.state, args.limit):
        last = d.mambu_transaction_id or d.last_error or ""
        print(f"{d.purchase_id}  {d.customer_id:<10} {d.amount:>12} MXN  {d.state:<7} tries={d.attempts} "
              f"next={stored_utc(d.next_attempt_at):%Y-%m-%d %H:%M:%S}Z {last}")  # fmt: skip
    return 0


def cmd_replay_webhook(args: argparse.Namespace) -> int:
    import bootstrap
    from blueprints.disbursements import run_webhooks
    from usecases.webhooks import WebhookNotFound, replay_channel, replay_webhook

    if (args.event_id is None) == (args.channel is None):
        print("error: give one EVENT_ID or --channel CHANNEL", file=sys.stderr)
        return 2
    try:
        if args.channel is not None:
            count = replay_channel(bootstrap.engine(), args.channel, bootstrap.utc_now())
        else:
            replay_webhook(bootstrap.engine(), args.event_id, bootstrap.utc_now())
    except WebhookNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.channel is not None:
        if not count:
            print(f"no webhook events of {args.channel} wait for an operator")
            return 0
        print(f"{count} webhook event(s) of {args.channel} due again now")
        deliveries = [d for d in run_webhooks() if d.channel == args.channel]
        _print_deliveries(deliveries)
        if len(deliveries) < count:
            print(f"{count - len(deliveries)} more are sent by the webhook_delivery timer")
        return 0 if all(d.state == "DELIVERED" for d in deliveries) else 1
    deliveries = run_webhooks(args.event_id)
    _print_deliveries(deliveries)
    return 0 if deliveries and deliveries[0].state == "DELIVERED" else 1


def cmd_webhooks(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.webhooks import WAITING, list_webhooks

    state = WAITING if args.parked else args.state
    found = list_webhooks(bootstrap.engine(), state, args.limit, args.channel)
    for w in found:
        print(f"{w.event_id}  {w.channel:<7} {w.outcome:<9} {w.state:<9} tries={w.attempts} "
              f"status={w.last_status} {w.last_error or ''}")  # fmt: skip
    what = f" in state {args.state}" if args.state else ""
    if args.parked:
        what = " waiting for an operator (FAILED or PARKED)"
    if not found:
        print(f"no webhook events{what}{' of ' + args.channel if args.channel else ''}")
    elif args.parked:
        print("replay one with `manage.py replay-webhook EVENT_ID`, or a channel's with `--channel CHANNEL`, once "
              "its URL works")  # fmt: skip
    return 0


def _utc(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}Z"


def _overlap_hours(text: str) -> float:
    """--overlap-hours: 0 to 720 (30 days), a plain number of hours."""
    try:
        hours = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of hours: {text!r}") from None
    if not 0 <= hours <= 720:  # also refuses nan
        raise argparse.ArgumentTypeError(f"0 to 720 hours, not {text!r}")
    return hours


def cmd_webhook_secret(args: argparse.Namespace) -> int:
    """Print the channel's secret(s); --rotate with an overlap, --end-overlap to stop the old one."""
    from datetime import timedelta

    import bootstrap
    from usecases.webhooks import (
        WebhookNotFound,
        channel_secrets,
        end_secret_overlap,
        rotate_webhook_secret,
    )

    engine, now, ch = bootstrap.engine(), bootstrap.utc_now(), args.channel
    cfg = bootstrap.webhook_config()
    if args.rotate and args.end_overlap:
        print("error: --rotate or --end-overlap, not both", file=sys.stderr)
        return 2
    if args.overlap_hours is not None and not args.rotate:
        print("error: --overlap-hours goes with --rotate", file=sys.stderr)
        return 2
    overlap = cfg.secret_overlap if args.overlap_hours is None else timedelta(hours=args.overlap_hours)
    try:
        if args.rotate:
            found = rotate_webhook_secret(engine, cfg.master_key, ch, now, overlap)
        elif args.end_overlap:
            found, was_until = end_secret_overlap(engine, cfg.master_key, ch, now)
        else:
            found = channel_secrets(engine, cfg.master_key, ch)
    except WebhookNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    v = found.versions
    if args.quiet:
        print(found.secret.decode())
        return 0
    if args.rotate:
        print(f"{ch} webhook secret rotated to version {v.current}: {found.secret.decode()}")
    else:
        print(f"{ch} webhook secret (version {v.current}): {found.secret.decode()}")
    previous = found.previous_secret.decode() if found.previous_secret else ""
    if found.overlapping(now):
        hours = (v.previous_until - now).total_seconds() / 3600  # type: ignore[operator]
        print(f"{ch} previous secret (version {v.previous}), still valid until {_utc(v.previous_until)} "  # type: ignore[arg-type]
              f"({hours:.0f} h): {previous}")  # fmt: skip
        print(f"until then every event carries both signatures (X-Lending-Signature: v1=<version {v.current}>,"
              f"v1=<version {v.previous}>), so {ch} accepts with either secret; give {ch} the new one before "
              "then")  # fmt: skip
    elif v.previous is not None and v.previous_until is not None:
        stopped = "now" if args.rotate or args.end_overlap else f"at {_utc(v.previous_until)}"
        print(f"{ch} previous secret (version {v.previous}) stopped {stopped}: events carry version {v.current}'s "
              f"signature alone (a receiver still on version {v.previous} refuses them: they are retried, then "
              f"listed by `manage.py webhooks --parked`)")  # fmt: skip
        if args.end_overlap:
            print(f"(it was to sign until {_utc(was_until)})")
    return 0


def cmd_import_collections(args: argparse.Namespace) -> int:
    import csv

    import bootstrap
    from usecases.collections import ImportProblem, agreement_from_row, import_collections

    path = Path(args.file)
    try:
        if path.suffix.lower() == ".csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                data = {"agreements": [agreement_from_row(row) for row in csv.DictReader(handle)]}
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
        counts = import_collections(bootstrap.engine(), data, bootstrap.utc_now())
    except (OSError, ValueError) as exc:  # ImportProblem and JSON errors are ValueErrors
        kind = "invalid item" if isinstance(exc, ImportProblem) else "cannot read"
        print(f"error: {kind} in {path}: {exc}", file=sys.stderr)
        return 2
    print(
        f"imported {counts['agreements']} agreements ({counts['agreements_new']} new), {counts['convenios']} convenios"
        f" with {counts['references']} references from {path}"
    )
    return 0


def cmd_load_debts(args: argparse.Namespace) -> int:
    from blueprints.debt_loader import run_loader
    from domain.companies import parse_company_code
    from domain.debts import cents_text

    company = parse_company_code(args.company) if args.company else None
    progress = ProgressBar() if sys.stderr.isatty() else None
    results = run_loader(company, progress)
    for r in results:
        if r.detail:
            print(f"{r.company:05d} {r.file_name} {r.outcome}: {r.detail}")
            continue
        print(
            f"{r.company:05d} {r.file_name} {r.outcome}: {r.lines} lines, {r.applied} applied, {r.rejected} rejected,"
            f" PEN {cents_text(r.applied_total_pen)}, USD {cents_text(r.applied_total_usd)}"
            f" ({r.duration_ms / 1000:.1f}s)"
        )
    if not results:
        print("no pending debt files")
    return 1 if any(r.outcome == "FALLIDO" for r in results) else 0


def cmd_dispatch_debts(args: argparse.Namespace) -> int:
    from blueprints.debt_loader import dispatch_and_warn

    counts, warnings = dispatch_and_warn()
    print(f"queued {counts['Companies']} companies ({counts['Files']} files) on {counts['Queue']}")
    for warning in warnings:
        print(f"warning: {warning}")
    if "SweepError" in counts:
        print(f"warning: the payment files taken could not be looked for: {counts['SweepError']}")
    else:
        print(f"payment files seen taken from Pagos/: {counts['Taken']} now, {counts['NotTaken']} still there")
    return 0


def cmd_sweep_payment_files(args: argparse.Namespace) -> int:
    import bootstrap
    from domain.companies import parse_company_code
    from usecases.payment_files import sweep_taken

    company = parse_company_code(args.company) if args.company else None
    results = sweep_taken(bootstrap.engine(), bootstrap.file_store(), bootstrap.utc_now, company=company)
    for r in results:
        if r.problem:
            print(f"{r.company:05d} not looked at: {r.problem}")
            continue
        for name in r.taken:
            print(f"{r.company:05d} {name} taken (seen gone {r.seen_at:%Y-%m-%d %H:%M:%S}Z)")
        print(f"{r.company:05d} {len(r.taken)} taken now, {r.waiting} still in Pagos/")
    if not results:
        print("no payment file waiting in any Pagos/ folder")
    return 1 if any(r.problem for r in results) else 0


def cmd_poison(args: argparse.Namespace) -> int:
    import bootstrap
    from settings import get_settings

    queue = args.queue or get_settings().debt_queue
    queues = bootstrap.work_queues()
    if args.requeue:
        moved = queues.requeue_poison(queue)
        print(f"{moved} message(s) moved from {queue}-poison back to {queue}")
        return 0
    parked = queues.parked(queue)
    for message in parked:
        when = message.inserted.isoformat() if message.inserted else "?"
        print(f"{when}  {message.id}  {message.body}")
    if not parked:
        print(f"{queue}-poison is empty")
    return 0


def _since(text: str | None) -> datetime | None:
    """An ISO time with its zone (a bare date is that day in Lima, the companies' day)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not text:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        if len(text) > 10:
            raise SystemExit("error: --since needs a time zone, e.g. 2026-11-22T00:00:00-05:00 (or a date)")
        value = value.replace(tzinfo=ZoneInfo("America/Lima"))
    return value


def cmd_companies(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.reports import company_rows

    rows = company_rows(bootstrap.engine())
    if args.code:
        return _show_company(args.code, rows)
    for r in rows:
        state = f"  DEACTIVATED {r.deactivated_at:%Y-%m-%d %H:%M}Z" if r.deactivated_at else ""
        print(f"{r.code:05d}  {r.name:<30} debts={r.debts:<8} services {r.services or '-'}{state}")
    if not rows:
        print("no companies (python manage.py create-company ...)")
    return 0


def _show_company(code_text: str, rows: list) -> int:
    """One company whole: its services, its accounts per bank, its folders and its state."""
    import bootstrap
    from domain.companies import parse_company_code
    from usecases.load_debts import complete_folder, pending_folder, rejected_folder

    code = parse_company_code(code_text)
    row = next((r for r in rows if r.code == code), None)
    with bootstrap.unit_of_work() as tx:
        company = tx.companies.get(code)
    if row is None or company is None:
        print(f"error: no company {code}", file=sys.stderr)
        return 2
    state = f"DEACTIVATED since {row.deactivated_at:%Y-%m-%d %H:%M:%S}Z" if row.deactivated_at else "active"
    print(f"company     {code:05d} {company.name}\nstate       {state}\ndebts       {row.debts}")
    for service in company.services:
        print(f"service     {service.code} {service.validation_mode.value} {service.currency.value}")
    for account in company.accounts:
        print(f"account     service {account.service_code} bank {account.bank_code}: {account.account_number}")
    if not company.accounts:
        print("account     none: no bank may collect for it yet (create-company ... --account SERVICE:BANK:NUMBER)")
    folders = (pending_folder(code), complete_folder(code), rejected_folder(code), f"{code:05d}/Pagos")
    print(f"folders     {', '.join(f + '/' for f in folders)} in {bootstrap.file_store().url}")
    return 0


def cmd_debt_files(args: argparse.Namespace) -> int:
    import bootstrap
    from domain.companies import parse_company_code
    from domain.debts import cents_text
    from usecases.reports import debt_file_rows

    company = parse_company_code(args.company) if args.company else None
    rows = debt_file_rows(bootstrap.engine(), company, _since(args.since), args.limit)
    for r in rows:
        print(f"{r.finished_at:%Y-%m-%d %H:%M:%S}Z {r.company:05d} {r.file_name:<24} {r.status:<9} "
              f"{r.update_type or '-'} lines={r.lines} applied={r.applied} rejected={r.rejected} "
              f"PEN {cents_text(r.applied_pen)} USD {cents_text(r.applied_usd)}")  # fmt: skip
    if not rows:
        print("no debt files loaded" + (" since then" if args.since else ""))
    return 0


def cmd_payments(args: argparse.Namespace) -> int:
    from datetime import timedelta

    import bootstrap
    from domain.companies import parse_company_code
    from domain.debts import cents_text
    from settings import get_settings
    from usecases.reports import payment_file_rows, pending_records

    company = parse_company_code(args.company) if args.company else None
    if args.pending:
        waiting = {code: n for code, n in pending_records(bootstrap.engine()).items() if company in (None, code)}
        for code, count in sorted(waiting.items()):
            print(f"{code:05d} {count} records in no payment file yet")
        if not waiting:
            print("no records waiting for a payment file" + (f" of {company:05d}" if company else ""))
        return 0
    rows = payment_file_rows(bootstrap.engine(), company, args.limit)
    settlement = timedelta(hours=get_settings().payment_file_settlement_hours)
    for r in rows:
        uploaded = f"{r.uploaded_at:%Y-%m-%d %H:%M:%S}Z" if r.uploaded_at else "reserved, not written yet"
        print(f"{r.company:05d} {r.file_name} records={r.records} net PEN {cents_text(r.total_pen)} "
              f"USD {cents_text(r.total_usd)} {uploaded}"
              + (f" {r.settlement(settlement).text}" if r.uploaded_at else ""))  # fmt: skip
    if not rows:
        print("no payment files")
    return 0


def cmd_purchases(args: argparse.Namespace) -> int:
    import bootstrap
    from usecases.reports import purchase_rows

    rows = purchase_rows(bootstrap.engine(), args.state, args.limit)
    for r in rows:
        print(f"{r.updated_at:%Y-%m-%d %H:%M:%S}Z {r.id} {r.channel:<7} {r.customer:<12} MXN {r.amount} {r.state}")
    if not rows:
        print("no purchases" + (f" in state {args.state}" if args.state else ""))
    return 0


def cmd_generate_payments(args: argparse.Namespace) -> int:
    from datetime import datetime

    import bootstrap
    from blueprints.payment_files import log_file, run_generator
    from domain.companies import parse_company_code
    from domain.debts import cents_text
    from usecases.payment_files import regenerate

    company = parse_company_code(args.company) if args.company else None
    if args.regenerate:
        result = regenerate(bootstrap.engine(), bootstrap.file_store(), args.regenerate, company)
        log_file(result)
        results = [result]
    else:
        since = datetime.fromisoformat(args.since) if args.since else None
        if since is not None and since.tzinfo is None:
            print("error: --since needs a time zone, e.g. 2026-11-22T00:00:00-05:00", file=sys.stderr)
            return 2
        results = run_generator(company=company, since=since, dry_run=args.dry_run)
    for r in results:
        if r.outcome == "SIMULADO":
            print(f"{r.company:05d} would write {r.records} records (dry run)")
        else:
            print(f"{r.company:05d} {r.file_name} {r.outcome}: {r.records} records: {r.payments} payments PEN "
                  f"{cents_text(r.paid_pen)} USD {cents_text(r.paid_usd)}, {r.reversals} reversals PEN "
                  f"{cents_text(r.reversed_pen)} USD {cents_text(r.reversed_usd)}; net PEN {cents_text(r.total_pen)},"
                  f" USD {cents_text(r.total_usd)}")  # fmt: skip
    if not results:
        print("no new payments or reversals")
    return 0


class ProgressBar:
    """`load-debts` on a terminal: the share read, the lines so far (a debt line is 212 bytes with
    its CRLF) and the time left at the pace so far."""

    LINE_BYTES = 212

    def __init__(self, clock=time.monotonic) -> None:  # type: ignore[no-untyped-def]
        self.clock = clock
        self.started: dict[str, float] = {}

    def line(self, name: str, done: int, total: int) -> str:
        now = self.clock()
        started = self.started.setdefault(name, now)
        width = 30
        share = done / total if total else 1.0
        bar = "#" * int(share * width)
        elapsed = now - started
        if done >= total:
            left = f"done in {elapsed:.1f}s"
        elif done and elapsed > 0.5:
            left = f"{(total - done) * elapsed / done:.0f}s left"
        else:
            left = "time left: measuring"
        return f"{name} [{bar:<{width}}] {share:6.1%} {done // self.LINE_BYTES:>10,} lines  {left}"

    def __call__(self, name: str, done: int, total: int) -> None:
        sys.stderr.write("\r" + self.line(name, done, total) + "\033[K")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_functions(args: argparse.Namespace) -> int:
    import function_app
    from local_host.registry import functions_of

    for function in functions_of(function_app.app):
        trigger = function.get_trigger()
        if trigger.get_binding_name() == "httpTrigger":
            methods = ",".join(str(getattr(m, "value", m)) for m in trigger.methods or []) or "ANY"
            print(f"{function.get_function_name():32} http   {methods:10} /api/{trigger.route}")
        else:
            print(f"{function.get_function_name():32} {trigger.get_binding_name():6} {trigger.schedule}")
    return 0


def cmd_run_timer(args: argparse.Namespace) -> int:
    import bootstrap
    import function_app
    from local_host.timers import fire, timer_jobs

    for job in timer_jobs(function_app.app):
        if job.name == args.name:
            fire(job, "Manual run from manage.py", bootstrap.utc_now())
            return 0
    print(f"error: no timer function {args.name}", file=sys.stderr)
    return 2


def cmd_serve(args: argparse.Namespace) -> int:
    from local_host.server import serve
    from settings import get_settings
    from sql.engine import create_engine
    from sql.migrate import current_revision, head_revision

    revision = head = head_revision()
    if args.app == "function_app":  # the app's functions need the schema at head
        engine = create_engine(get_settings().sql_url)
        with engine.connect() as conn:
            revision = current_revision(conn)
        engine.dispose()
    if revision != head:
        print(f"error: the database is at revision {revision}, not {head_revision()}: run `python manage.py migrate`",
              file=sys.stderr)  # fmt: skip
        return 2

    serve(args.host, args.port, args.workers, not args.no_timers, args.app, args.threads, queues=not args.no_queues)
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="manage.py", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the HTTP functions and fire the timers (local host)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=7071)
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument(
        "--threads", type=int, default=2,
        help="threads per worker for synchronous functions, like PYTHON_THREADPOOL_THREAD_COUNT (default 2)",
    )  # fmt: skip
    p.add_argument("--no-timers", action="store_true", help="do not fire timer functions")
    p.add_argument("--no-queues", action="store_true", help="do not listen for queue-triggered functions")
    p.add_argument("--app", default="function_app", help="module holding `app` (default function_app)")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("init-settings", help="create local.settings.json with a random JWT key")
    p.add_argument("--force", action="store_true")
    p.set_defaults(run=cmd_init_settings)

    p = sub.add_parser("migrate", help="apply the Alembic migrations to SQL_URL")
    p.add_argument("--url", help="SQLAlchemy URL (default: SQL_URL)")
    p.add_argument("--revision", default="head")
    p.set_defaults(run=cmd_migrate)

    p = sub.add_parser("azure-sql", help="regenerate sql/azure/migrations.sql (T-SQL) from the migrations")
    p.add_argument("--check", action="store_true", help="fail if the checked-in file is stale")
    p.set_defaults(run=cmd_azure_sql)

    p = sub.add_parser(
        "openapi", help="regenerate the docs rendered from the code (OpenAPI documents, docs/collections-fields.md)"
    )
    p.add_argument("--check", action="store_true")
    p.set_defaults(run=cmd_openapi)

    p = sub.add_parser("create-client", help="register an API client (or rotate its secret and scopes)")
    p.add_argument("--id", required=True)
    p.add_argument("--secret", help=SECRET_HELP)
    p.add_argument("--scopes", required=True, help="comma-separated: yapago,lending,merchant,collections,operator")
    p.add_argument("--banks", help="YAPAGO: the idBanco codes it may act for, e.g. 1020 (default: any)")
    p.add_argument("--channels", help="lending, scope merchant: the distributor channel(s) it is, e.g. KOF "
                   "(required for the merchant routes: an unbound client may act for none)")  # fmt: skip
    p.set_defaults(run=cmd_create_client)

    p = sub.add_parser("clients", help="list the API clients (never their secrets), or show one")
    p.add_argument("id", nargs="?", help="a client id: show it whole")
    p.set_defaults(run=cmd_clients)

    p = sub.add_parser("disable-client", help="refuse a client's credentials and tokens from now on")
    p.add_argument("--id", required=True)
    p.set_defaults(run=lambda a: cmd_set_client_active(a, False))

    p = sub.add_parser("enable-client", help="accept a disabled client again")
    p.add_argument("--id", required=True)
    p.set_defaults(run=lambda a: cmd_set_client_active(a, True))

    p = sub.add_parser("create-company", help="create or update a company with its services and accounts")
    p.add_argument("--code", required=True, help="company code, e.g. 730")
    p.add_argument("--name", required=True)
    p.add_argument("--service", action="append", help="CODE:MODE[:CURRENCY], e.g. 001:completa or 002:parcial:USD")
    p.add_argument("--account", action="append", help="SERVICE:BANK:ACCOUNT, e.g. 001:1020:191-1234567-0-12")
    p.set_defaults(run=cmd_create_company)

    p = sub.add_parser("deactivate-company", help="stop a company collecting: no consulta or pago, no debt file "
                                                  "loaded (reversals and payment files go on)")  # fmt: skip
    p.add_argument("--code", required=True)
    p.set_defaults(run=lambda a: cmd_set_company_active(a, False))

    p = sub.add_parser("activate-company", help="let a deactivated company collect again")
    p.add_argument("--code", required=True)
    p.set_defaults(run=lambda a: cmd_set_company_active(a, True))

    p = sub.add_parser("seed-demo", help="load demo company 730 and the demo client (idempotent)")
    p.add_argument("--webhook-base", help="base URL of the distributors' webhook receiver (make run: the local one)")
    p.set_defaults(run=cmd_seed_demo)

    p = sub.add_parser("seed-demo-day", help="a day of demo activity: debt files, YAPAGO calls, payment files, "
                                             "dispersions (after seed-demo; make run does it)")  # fmt: skip
    p.set_defaults(run=cmd_seed_demo_day)

    p = sub.add_parser(
        "create-channel", help="a distributor channel (KOF, PRONTO) and its CLABE (check digit verified); on an "
        "existing channel only the options given change"
    )  # fmt: skip
    p.add_argument("--channel", required=True)
    p.add_argument("--name", help="required for a new channel")
    p.add_argument("--clabe", help="required for a new channel")
    hook = p.add_mutually_exclusive_group()
    hook.add_argument("--webhook", help="where its disbursement confirmations go: https://... (http only to the "
                      "loopback, for local fakes)")  # fmt: skip
    hook.add_argument("--no-webhook", action="store_true", help="remove the URL: its confirmations are parked "
                      "(webhooks --parked) until one is set and they are replayed")  # fmt: skip
    p.set_defaults(run=cmd_create_channel)

    p = sub.add_parser("dispatch-disbursements", help="write the dispersion file of the approved purchases now")
    p.set_defaults(run=cmd_dispatch_disbursements)
    p = sub.add_parser("process-responses", help="apply the bank's response files in dispersiones/respuestas/ now")
    p.set_defaults(run=cmd_process_responses)
    p = sub.add_parser("resend-dispersion", help="offer a dispersion or retry file held as uncertain again (the "
                                                 "same bytes), once the bank says it did not receive it")  # fmt: skip
    p.add_argument("name", help="the file's name, e.g. DISP_20261122_120000_001.TXT")
    p.add_argument("--bank-confirms-not-received", action="store_true",
                   help="the bank says it did not receive the file: without it nothing is written")  # fmt: skip
    p.set_defaults(run=cmd_resend_dispersion)
    p = sub.add_parser("alerts", help="what an operator must look at on disbursements, newest first: files that may "
                                      "be with the bank, payments reported twice")  # fmt: skip
    p.add_argument("--all", action="store_true", help="resolved ones too")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(run=cmd_alerts)
    p = sub.add_parser("resolve-alert", help="close an alert, saying how it was settled")
    p.add_argument("id", type=int)
    p.add_argument("--note", required=True, help="what was done (kept with the alert)")
    p.add_argument("--bank-confirms-received", action="store_true",
                   help="for a file held as uncertain: the bank has it (marked sent; its answer comes)")  # fmt: skip
    p.set_defaults(run=cmd_resolve_alert)
    p = sub.add_parser("disbursements", help="purchases sent to the bank and not answered (or failed), oldest first")
    p.add_argument("--state", default="DISBURSING", choices=["DISBURSING", "DISBURSEMENT_FAILED", "DISBURSED"])
    p.add_argument("--older-than-hours", type=float, default=0.0, help="only those not moved for this long")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(run=cmd_disbursements)
    p = sub.add_parser("deliver-webhooks", help="post the due webhook events now")
    p.add_argument("--event", help="only this event id")
    p.set_defaults(run=cmd_deliver_webhooks)
    p = sub.add_parser("book-drawdowns", help="book in Mambu the credit of the disbursed purchases now")
    p.add_argument("--purchase", help="only this purchase id")
    p.set_defaults(run=cmd_book_drawdowns)
    p = sub.add_parser("drawdowns", help="list the drawdowns (oldest first): PENDING ones still count locally")
    p.add_argument("--state", choices=["PENDING", "BOOKED"])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=cmd_drawdowns)
    p = sub.add_parser("replay-webhook", help="send one webhook event again now (same id and body), or every "
                       "event of a channel waiting for an operator (--channel)")  # fmt: skip
    p.add_argument("event_id", nargs="?")
    p.add_argument("--channel", help="every FAILED or PARKED event of this channel")
    p.set_defaults(run=cmd_replay_webhook)
    p = sub.add_parser("webhooks", help="list webhook events (newest first)")
    p.add_argument("--state", choices=["PENDING", "DELIVERED", "FAILED", "PARKED"])
    p.add_argument("--parked", action="store_true", help="those waiting for an operator: FAILED (given up) and "
                   "PARKED (no usable URL)")  # fmt: skip
    p.add_argument("--channel", help="only this channel's")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=cmd_webhooks)
    p = sub.add_parser("webhook-secret", help="print a channel's webhook signing secret(s) (for the distributor)")
    p.add_argument("channel")
    p.add_argument("--rotate", action="store_true", help="a new secret; the previous one still signs for "
                   "--overlap-hours (every event carries both signatures meanwhile)")  # fmt: skip
    p.add_argument("--overlap-hours", type=_overlap_hours, help="with --rotate: how long the previous secret still "
                   "signs (default WEBHOOK_SECRET_OVERLAP_HOURS, 72; 0 stops it now, for a leaked secret)")  # fmt: skip
    p.add_argument("--end-overlap", action="store_true", help="the previous secret stops signing now (the "
                   "distributor uses the new one)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="print the current secret alone")
    p.set_defaults(run=cmd_webhook_secret)

    p = sub.add_parser("create-customer", help="a credit-line customer and the phone its OTPs go to")
    p.add_argument("--id", required=True)
    p.add_argument("--phone", required=True)
    p.set_defaults(run=cmd_create_customer)

    p = sub.add_parser(
        "import-collections",
        help="load collections agreements from JSON (sections, see data/collections-demo.json) or CSV"
        " (acctId,acctType,govIssueIdentType,identSerialNum,...); all or nothing",
    )
    p.add_argument("file")
    p.set_defaults(run=cmd_import_collections)

    p = sub.add_parser("load-debts", help="load the pending debt files now, in this process (what debt_files does)")
    p.add_argument("--company", help="only this company code")
    p.set_defaults(run=cmd_load_debts)

    p = sub.add_parser("companies", help="list the companies with their services and debts, or show one")
    p.add_argument("code", nargs="?", help="a company code: show it whole (services, accounts, folders, state)")
    p.set_defaults(run=cmd_companies)

    p = sub.add_parser("debt-files", help="the debt files loaded, newest first, with their outcome")
    p.add_argument("--company", help="only this company code")
    p.add_argument("--since", help="from this ISO time (with its zone) or date (Lima) on")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=cmd_debt_files)

    p = sub.add_parser("payments", help="the payment files written, newest first (--pending: records waiting for one)")
    p.add_argument("--company", help="only this company code")
    p.add_argument("--pending", action="store_true", help="per company, the records in no payment file yet")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=cmd_payments)

    p = sub.add_parser("purchases", help="credit-line purchases, most recently changed first")
    p.add_argument("--state", help="only this state, e.g. DISBURSING, FAILED")
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=cmd_purchases)

    p = sub.add_parser("holds", help="purchases holding credit, oldest change first, with their deadline")
    p.add_argument("--customer", help="only this customer's")
    p.add_argument("--limit", type=int, default=100)
    p.set_defaults(run=cmd_holds)

    p = sub.add_parser("release-purchase", help="end a purchase stuck before money can move (its held credit is "
                       "released; refused once APPROVED)")  # fmt: skip
    p.add_argument("purchase_id")
    p.add_argument("--reason", required=True, help="why (kept in the purchase's reason and its event)")
    p.set_defaults(run=cmd_release_purchase)

    p = sub.add_parser("dispatch-debts", help="queue every company with pending debt files now (the timer's work)")
    p.set_defaults(run=cmd_dispatch_debts)

    p = sub.add_parser("sweep-payment-files", help="record the payment files the billers took (moved or deleted) "
                       "from Pagos/ since the last look (the debt_loader timer does it every run)")  # fmt: skip
    p.add_argument("--company", help="only this company code")
    p.set_defaults(run=cmd_sweep_payment_files)

    p = sub.add_parser("poison", help="list the messages that failed maxDequeueCount times (or --requeue them)")
    p.add_argument("--queue", help="the work queue (default DEBT_QUEUE)")
    p.add_argument("--requeue", action="store_true", help="move them back to the queue, to be tried again")
    p.set_defaults(run=cmd_poison)

    p = sub.add_parser("generate-payments", help="write the payment files now (what the timer does)")
    p.add_argument("--company", help="only this company code")
    p.add_argument(
        "--since",
        help="only companies with records booked from this ISO time on (their file takes every pending record),"
        " e.g. 2026-11-22T00:00:00-05:00",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be written; write nothing")
    p.add_argument("--regenerate", metavar="FILE", help="write this payment file again, byte for byte, from SQL")
    p.set_defaults(run=cmd_generate_payments)

    p = sub.add_parser("functions", help="list the registered functions")
    p.set_defaults(run=cmd_functions)

    p = sub.add_parser("run-timer", help="run one timer function now, once")
    p.add_argument("name")
    p.set_defaults(run=cmd_run_timer)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("azure").setLevel(logging.WARNING)
    logging.getLogger("paramiko").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    load_local_settings()
    args = parser().parse_args(argv)
    from adapters.files.port import FileStoreError
    from domain.errors import DomainError
    from settings import SettingsError
    from usecases.payment_files import PaymentFileError

    try:
        code = args.run(args)
        sys.stdout.flush()  # inside: a reader that left shows up here, not at exit
        return code
    except (DomainError, SettingsError, FileStoreError, PaymentFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `manage.py webhooks | head`: the reader left; no traceback
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
