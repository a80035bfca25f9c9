"""The console's pages, each a function from what the use cases read to HTML (no I/O here).
Times are shown in Lima's time for the billers' and YAPAGO's pages and in UTC with a `Z` for
the lending side, as the commands print them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from blueprints.console_html import Html, action, bar_chart, join, status, table, tag, text, tiles
from domain.debts import cents_text
from domain.settlement import DEFAULT_SETTLEMENT
from domain.yapago import CODES, LIMA
from usecases.console_day import CompanyDay, HourCount
from usecases.reports import Settlement

DESCRIPTIONS = {c.code: c.message for c in CODES}
OPERATIONS = (("yapago_consulta", "consulta"), ("yapago_pago", "pago"), ("yapago_reversa", "reversa"))


def lima(moment: datetime | None) -> str:
    return moment.astimezone(LIMA).strftime("%H:%M:%S") if moment else "-"


def taken(state: Settlement) -> Any:
    """A payment file's column "Taken by the biller": when it was seen gone, or until when its
    payments count against a reload (the date too: the file may be days old)."""
    if state.state == "reserved":
        return "-"
    when = state.at.astimezone(LIMA).strftime("%Y-%m-%d %H:%M") if state.at else ""
    if state.state == "taken":
        return tag("span", f"taken, seen {when}", class_="ok")
    if state.state == "settled":
        return tag("span", f"not taken; applied by contract since {when}", class_="warn")
    return tag("span", f"not yet: counts against reloads until taken{' or ' + when if when else ''}", class_="warn")


def utc(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}Z" if moment else "-"


def day_picker(base: str, here: str, day: date) -> Html:
    field = Html(f'<input type="date" name="day" value="{day.isoformat()}" aria-label="day">')
    return tag("form", join([Html("Day (Lima): "), field, Html(" "), tag("button", "Show", type="submit")]),
               method="get", action=f"{base}/{here}" if here else base)  # fmt: skip


def health_table(checks: dict[str, dict[str, Any]]) -> Html:
    rows = [(name, status(c["status"]), c.get("ms", ""), c.get("detail") or c.get("error") or "")
            for name, c in checks.items()]  # fmt: skip
    return table(("Dependency", "Status", "ms", "Detail"), rows, numeric=(2,))


def hours_chart(hours: Sequence[HourCount], day: date) -> Html:
    return bar_chart(f"Pagos and reversas per hour, {day.isoformat()} (Lima)", [f"{h.hour:02d}" for h in hours],
                     [("pagos", [h.pagos for h in hours]), ("reversas", [h.reversas for h in hours])])  # fmt: skip


def overview(day: date, checks: dict[str, dict[str, Any]], companies: list[CompanyDay], hours: Sequence[HourCount],
             traffic: dict[str, dict[str, int]], purchases: dict[str, int], dispersions: int, failed_hooks: int,
             poison: int, base: str, warnings: int = 0, parked_hooks: int = 0, alerts: int = 0) -> Html:  # fmt: skip
    files = [f for c in companies for f in c.debt_files]
    answered = sum(sum(by_code.values()) for by_code in traffic.values())
    summary = tiles([
        (len(files), "debt files today"),
        (sum(f.row.rejected for f in files), "debt lines rejected"),
        (sum(h.pagos for h in hours), "pagos today"),
        (sum(h.reversas for h in hours), "reversas today"),
        (answered, "YAPAGO calls today"),
        (sum(c.waiting for c in companies), "records waiting for a payment file"),
        (sum(purchases.values()), "credit-line purchases"),
        (dispersions, "dispersions waiting for the bank"),
        (failed_hooks, "failed webhooks"),
        (parked_hooks, "parked webhooks (no URL)"),
        (poison, "poison messages"),
    ])  # fmt: skip
    problems = []
    if alerts:
        problems.append(tag("li", tag("a", f"{alerts} open disbursement alert(s): money may have left twice or a "
                                           "dispersion may be with the bank", href=f"{base}/lending#alerts"),
                            class_="bad"))  # fmt: skip
    if failed_hooks:
        problems.append(tag("li", tag("a", f"{failed_hooks} webhook(s) failed: replay them", href=f"{base}/lending")))
    if parked_hooks:
        problems.append(tag("li", tag("a", f"{parked_hooks} webhook(s) parked: their channel has no usable URL",
                                      href=f"{base}/lending")))  # fmt: skip
    if poison:
        problems.append(tag("li", tag("a", f"{poison} message(s) in a poison queue", href=f"{base}/queues")))
    if warnings:
        problems.append(tag("li", tag("a", f"{warnings} folder(s) or file(s) on the exchange the loader will not read",
                                      href=f"{base}/billers")))  # fmt: skip
    rejected = [f for f in files if f.row.status == "RECHAZADO"]
    if rejected:
        problems.append(tag("li", tag("a", f"{len(rejected)} debt file(s) rejected today", href=f"{base}/billers")))
    down = [name for name, c in checks.items() if c["status"] != "ok"]
    if down:
        problems.append(tag("li", f"not answering: {', '.join(down)}", class_="bad"))
    attention = tag("ul", join(problems)) if problems else tag("p", "Nothing needs attention.", class_="note")
    return join([day_picker(base, "", day), summary, tag("h2", "Needs attention"), attention,
                 tag("h2", "Pagos per hour"), hours_chart(hours, day),
                 tag("h2", "Dependencies"), health_table(checks)])  # fmt: skip


def billers(day: date, companies: list[CompanyDay], base: str, warnings: Sequence[Any] = (),
            aside: Sequence[Any] = (), settlement: timedelta = DEFAULT_SETTLEMENT,
            now: datetime | None = None) -> Html:  # fmt: skip
    parts: list[Any] = [day_picker(base, "billers", day)]
    if warnings:
        parts.append(tag("h2", "On the exchange, not read"))
        parts.append(table(("Path", "Why"), [(tag("code", w.path), w.reason) for w in warnings]))
    if aside:
        parts.append(tag("h2", "Set aside in Rejected/ this day (never applied)"))
        rows = [(lima(a.at), f"{a.company:05d}", tag("code", a.name), a.reason) for a in aside]
        parts.append(table(("At (Lima)", "Company", "File", "Why"), rows))
    for c in companies:
        state = " (deactivated: no consulta, pago or debt file)" if c.deactivated else ""
        parts.append(tag("h2", f"{c.code:05d} {c.name}{state}", id=f"company-{c.code:05d}"))
        rows = [(lima(f.row.finished_at), f.row.file_name, f.row.update_type or "-",
                 tag("span", f.row.status, class_="ok" if f.row.status == "PROCESADO" else "bad"),
                 f.row.lines, f.row.applied, f.row.rejected, cents_text(f.row.applied_pen),
                 cents_text(f.row.applied_usd)) for f in c.debt_files]  # fmt: skip
        parts.append(tag("h3", "Debt files"))
        parts.append(table(("Loaded (Lima)", "File", "Type", "Status", "Lines", "Applied", "Rejected", "PEN applied",
                            "USD applied"), rows, numeric=(4, 5, 6, 7, 8), empty="no debt file this day"))  # fmt: skip
        for f in c.debt_files:
            if f.rejected_lines:
                more = (
                    f" (first {len(f.rejected_lines)} of {f.row.rejected})"
                    if f.row.rejected > len(f.rejected_lines)
                    else ""
                )
                parts.append(tag("h3", f"Rejected lines of {f.row.file_name}{more}"))
                parts.append(table(("Line", "Field", "Reason", "As received"),
                                   [(e.line_no, e.field, e.reason, tag("pre", e.raw)) for e in f.rejected_lines],
                                   numeric=(0,), class_="rejected"))  # fmt: skip
        parts.append(tag("h3", "Payment files"))
        prow = [(lima(p.uploaded_at) if p.uploaded_at else "reserved, not written yet", p.file_name, p.records,
                 cents_text(p.total_pen), cents_text(p.total_usd), taken(p.settlement(settlement, now)))
                for p in c.payment_files]  # fmt: skip
        parts.append(table(("Written (Lima)", "File", "Records", "Net PEN", "Net USD", "Taken by the biller"), prow,
                           numeric=(2, 3, 4), empty="no payment file this day"))  # fmt: skip
        if c.untaken:
            name, written = c.untaken[0]
            parts.append(tag("p", f"{len(c.untaken)} payment file(s) still in {c.code:05d}/Pagos/, the oldest {name} "
                             f"written {written.astimezone(LIMA):%Y-%m-%d %H:%M} (Lima): their payments count against "
                             "this biller's reloads until it takes them (moves or deletes them) or the settlement "
                             "delay passes", class_="warn"))  # fmt: skip
        waiting = f"{c.waiting} payment(s) and reversal(s) waiting for the next payment file" if c.waiting else \
            "no record waiting for a payment file"  # fmt: skip
        parts.append(tag("p", waiting, class_="warn" if c.waiting else "note"))
    if not companies:
        parts.append(tag("p", "No company yet: python manage.py create-company ...", class_="note"))
    return join(parts)


def yapago(day: date, traffic: dict[str, dict[str, int]], partial: bool, hours: Sequence[HourCount],
           base: str) -> Html:  # fmt: skip
    codes = sorted({code for by_code in traffic.values() for code in by_code})
    rows = []
    for code in codes:
        counts = [traffic.get(function, {}).get(code, 0) for function, _ in OPERATIONS]
        rows.append((code, DESCRIPTIONS.get(code, "(not recorded)" if code == "-" else "?"), *counts, sum(counts)))
    totals = [sum(traffic.get(function, {}).values()) for function, _ in OPERATIONS]
    if rows:
        rows.append((tag("b", "all"), "", *totals, sum(totals)))
    note = tag("p", "Counted from ApiLogs; the day had more calls than were read.", class_="warn") if partial else ""
    chart = bar_chart(f"YAPAGO answers by codResp, {day.isoformat()}", codes,
                      [("calls", [sum(traffic.get(f, {}).get(c, 0) for f, _ in OPERATIONS) for c in codes])]) \
        if codes else ""  # fmt: skip
    return join([day_picker(base, "yapago", day), tag("h2", "Answers by codResp"), note,
                 table(("codResp", "Meaning", *(label for _, label in OPERATIONS), "All"), rows,
                       numeric=(2, 3, 4, 5), empty="no YAPAGO call this day"), chart,
                 tag("h2", "Pagos and reversas per hour"), hours_chart(hours, day)])  # fmt: skip


ALERT_STEPS = {
    "dispersion_uncertain": "Ask the bank. Not received: resend-dispersion FILE --bank-confirms-not-received. "
                            "Received: its answer settles it (or resolve-alert ID --bank-confirms-received).",
    "double_payment": "Recover the second transfer with the bank, then resolve-alert ID --note.",
    "unexpected_payment": "Ask the bank what it paid; stop any later attempt; then resolve-alert ID --note.",
    "purchase_held": "Settle the purchase with the bank, then resolve-alert ID --note.",
}  # fmt: skip


def alerts_table(alerts: Sequence[Any]) -> Html:
    rows = [(f"#{a.id}", utc(a.created_at), tag("span", a.kind, class_="bad"), a.purchase_id or "-",
             a.file_name or "-", a.detail, ALERT_STEPS.get(a.kind, "resolve-alert ID --note"))
            for a in alerts]  # fmt: skip
    return table(("Alert", "Raised", "Kind", "Purchase", "File", "What", "What to do (manage.py)"), rows,
                 empty="none: no money is in doubt")  # fmt: skip


def dispersion_state(d: Any) -> Any:
    if getattr(d, "file_sent_at", None) is not None:
        return "sent"
    if getattr(d, "file_parked_at", None) is not None:
        return tag("span", "HELD: may be with the bank", class_="bad")
    return "being written"


def lending(purchases: dict[str, int], recent: list[Any], dispersions: list[Any], webhooks: list[Any], csrf: str,
            base: str, replayed: Any = None, parked: Sequence[Any] = (),
            alerts: Sequence[Any] = ()) -> Html:  # fmt: skip
    parts: list[Any] = []
    if replayed is not None:
        parts.append(tag("p", f"Webhook {replayed.event_id} replayed: now {replayed.state} after {replayed.attempts} "
                              f"tries{f' ({replayed.last_error})' if replayed.last_error else ''}",
                         class_="flash" if replayed.state == "DELIVERED" else "error"))  # fmt: skip
    parts.append(tag("h2", "Open alerts", id="alerts"))
    if alerts:
        parts.append(tag("p", f"{len(alerts)} open alert(s): money may have left twice, or a dispersion may be with "
                              "the bank unanswered. Nothing here is offered to the bank again until resolved.",
                         class_="error"))  # fmt: skip
    parts.append(alerts_table(alerts))
    parts.append(tag("h2", "Purchases by state"))
    states = list(purchases)
    parts.append(table(("State", "Purchases"), purchases.items(), numeric=(1,), empty="no purchase yet"))
    if states:
        parts.append(bar_chart("Purchases by state", states, [("purchases", [purchases[s] for s in states])]))
    parts.append(tag("h2", "Dispersions waiting for the bank"))
    parts.append(table(("Purchase", "Channel", "MXN", "Attempt", "File", "File state", "Since"),
                       [(d.id, d.channel, d.amount, d.attempt, d.file_name, dispersion_state(d), utc(d.updated_at))
                        for d in dispersions],
                       numeric=(2, 3), empty="none: every dispersion sent has its answer"))  # fmt: skip
    parts.append(tag("h2", "Failed webhooks"))
    parts.append(table(("Event", "Channel", "Outcome", "Tries", "Last status", "Last error", ""),
                       [(w.event_id, w.channel, w.outcome, w.attempts, w.last_status or "-", w.last_error or "",
                         action(f"{base}/webhooks/{w.event_id}/replay", "Replay", csrf)) for w in webhooks],
                       numeric=(3,), empty="none"))  # fmt: skip
    parts.append(tag("h2", "Parked webhooks"))
    parts.append(tag("p", "Not sent: their channel had no usable webhook URL. Set it (manage.py create-channel "
                          "--channel CHANNEL --webhook https://...), then Replay (or replay-webhook --channel).",
                     class_="note"))  # fmt: skip
    parts.append(table(("Event", "Channel", "Outcome", "Queued", "Why", ""),
                       [(w.event_id, w.channel, w.outcome, utc(w.created_at), w.last_error or "",
                         action(f"{base}/webhooks/{w.event_id}/replay", "Replay", csrf)) for w in parked],
                       empty="none"))  # fmt: skip
    parts.append(tag("h2", "Latest purchases"))
    parts.append(table(("Changed", "Purchase", "Channel", "Customer", "MXN", "State"),
                       [(utc(p.updated_at), p.id, p.channel, p.customer, p.amount, p.state) for p in recent],
                       numeric=(4,), empty="no purchase yet"))  # fmt: skip
    return join(parts)


def queues(parked: dict[str, list[Any]], csrf: str, base: str, requeued: tuple[str, int] | None = None) -> Html:
    parts: list[Any] = []
    if requeued is not None:
        parts.append(tag("p", f"{requeued[1]} message(s) moved from {requeued[0]}-poison back to {requeued[0]}",
                         class_="flash"))  # fmt: skip
    parts.append(tag("p", "A message lands in a poison queue after the host tried it maxDequeueCount times. "
                          "Requeue once the cause is fixed; a debt file already set aside stays in Rejected/.",
                     class_="note"))  # fmt: skip
    for queue, messages in parked.items():
        parts.append(tag("h2", f"{queue}-poison"))
        parts.append(table(("Queued", "Message", "Tries", "Body"),
                           [(utc(m.inserted), m.id, m.dequeue_count, tag("code", m.body)) for m in messages],
                           numeric=(2,), empty="empty"))  # fmt: skip
        if messages:
            parts.append(action(f"{base}/queues/{queue}/requeue", f"Requeue all to {queue}", csrf))
    return join(parts)


def login(csrf: str, base: str, client_id: str = "") -> Html:
    field = Html(f'<input id="client_id" name="client_id" autocomplete="username" required value="{text(client_id)}">')
    secret = Html('<input id="client_secret" name="client_secret" type="password" autocomplete="current-password" '
                  'required>')  # fmt: skip
    return tag("form", join([
        tag("label", "Client id", for_="client_id"), field,
        tag("label", "Client secret", for_="client_secret"), secret,
        Html(f'<input type="hidden" name="csrf" value="{text(csrf)}">'),
        tag("button", "Sign in", type="submit"),
        tag("p", "A client with the operator scope: python manage.py create-client --id ... --scopes operator",
            class_="note"),
    ]), method="post", action=f"{base}/login", class_="login")  # fmt: skip
