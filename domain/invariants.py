"""The money invariants: what must hold whatever order billers, banks, distributors, Mambu,
the bank's file robot, timers and crashes act in; each with what makes it hold and what
searches for a break.

One table, read by docs/invariants.md (`manage.py openapi` writes it) and by a test that every
place and test named here exists. A new money rule starts here: write what must always hold,
say which constraint, conditional update, lock or state transition keeps it, and name the
stateful model rule that checks it after every step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Invariant:
    id: str
    flow: str
    statement: str
    holds_by: tuple[tuple[str, str], ...]  # (mechanism, where in the code)
    checked_by: tuple[str, ...]  # test file::name (the model rule or a regression test)


DEBTS = "Debt repository (YAPAGO, debt and payment files)"
LENDING = "Credit-line QR payments"

INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        "INV-Y1", DEBTS,
        "A `00` to a pago is exactly one booked payment: the first `00` of an operation (idBanco, "
        "numeroOperacion, fechaTxn) names a payment of its own, a repeat names the same one, and no payment "
        "exists without the `00` that booked it. An operation number seen on another day is a new operation "
        "or a refusal, never a replayed `00`.",
        (
            ("the claim of (bank, operation, day, kind) and the payment are one transaction; the answer is "
             "stored in it and replayed", "usecases/yapago.py `_idempotent`"),
            ("unique (bank_code, operation_number, txn_date); the answers keyed by the day too",
             "sql/tables.py `payments`, `api_operations`"),
            ("the same data on the adjacent day within the retry window is refused (43), never booked again",
             "sql/yapago_repository.py `same_pago_next_door`"),
        ),
        ("tests/integration/test_model_debts.py::a_00_is_exactly_one_payment",
         "tests/e2e/test_yapago_operation_property.py"),
    ),
    Invariant(
        "INV-Y2", DEBTS,
        "Every booked payment and every reversal is in exactly one payment-file line, once a generator run "
        "finished; never in two, whatever crashes or overlapping runs happen; no half-written file is ever "
        "visible in Pagos/.",
        (
            ("one record per payment and kind, rendered when booked", "sql/tables.py `payment_records` unique "
             "(payment_id, kind)"),
            ("a file is a record-id range read under the company's cursor lock; a reserved file is written "
             "again byte for byte", "sql/payment_file_repository.py, usecases/payment_files.py"),
            ("write to a temporary name, then rename", "adapters/files/ `write_atomic`"),
        ),
        ("tests/integration/test_model_debts.py::every_booking_is_in_one_file_line",
         "tests/e2e/test_payment_file_crash.py"),
    ),
    Invariant(
        "INV-Y3", DEBTS,
        "On a completa service no sequence of loads, pagos, reversals and retries takes more than the debt "
        "the biller last stated plus what it could not yet know: a payment keeps counting against a reloaded "
        "balance until the biller can have applied it (its payment file taken from Pagos/, or the settlement "
        "delay passed, both before the export less the clock tolerance), and never while the reloaded amount "
        "equals the amount it was paid against.",
        (
            ("a payment takes the balance only if it still fits", "sql/yapago_repository.py `take_balance` "
             "(conditional UPDATE)"),
            ("a reload restates what was paid from what the biller could know, in the load's transaction",
             "sql/debt_repository.py `restate_paid`, `known_files`"),
            ("could have applied: taken (seen gone by the sweep, never earlier) or settled, before the statement "
             "time", "domain/settlement.py `file_known`, `statement_time`; usecases/payment_files.py `sweep_taken`"),
            ("each payment keeps the total it was paid against", "sql/tables.py `stated_cents`"),
        ),
        ("tests/integration/test_model_debts.py::no_document_is_paid_beyond_what_was_billed",
         "tests/integration/test_model_debts.py::bank_calls_twice_at_once",
         "tests/integration/test_balance_restatement.py"),
    ),
    Invariant(
        "INV-Y4", DEBTS,
        "A consulta never mixes clients: an idConsulta names one client code (the client code first, then "
        "DNI, RUC or Identificador 04), or the answer is a refusal; a pago resolves its idConsulta to the "
        "same client.",
        (("one precedence for consulta and pago; several clients under one reading answer 36",
          "domain/yapago.py `one_client`"),),
        ("tests/integration/test_model_debts.py::_consulta", "tests/e2e/test_yapago_one_client.py"),
    ),
    Invariant(
        "INV-Y5", DEBTS,
        "A payment is reversed at most once, only by a reversa that names it, and gives its balance back "
        "exactly once.",
        (
            ("status P -> A by a conditional UPDATE", "sql/yapago_repository.py `reverse`"),
            ("one reversal record per payment", "sql/tables.py `payment_records` unique (payment_id, kind)"),
            ("a reversa that matches payments of several days needs `fechaTxnPago`: refused (11), never guessed",
             "usecases/yapago.py `fechaTxnPago`"),
        ),
        ("tests/integration/test_model_debts.py::a_00_is_exactly_one_payment",
         "tests/e2e/test_yapago_operation_days.py"),
    ),
    Invariant(
        "INV-L1", LENDING,
        "The bank pays a purchase at most once, counting every file it may have taken: a dispersion or retry "
        "file reaches the bank's folder through at most one move, and is never written again once it may "
        "have been; a purchase the bank paid is never failed, expired or released; any paid line that is not "
        "the purchase's one disbursement is an alert for an operator, never only a log line.",
        (
            ("the intent to publish is committed before the move (a conditional UPDATE on `publishing_at`); "
             "a run that finds a claimed, unmarked file marks it, or holds it with an alert: never writes it",
             "usecases/disbursements.py `_claim`, `_judge`"),
            ("every P line disburses its purchase (a compare-and-set on the state) or raises an alert, in the "
             "same transaction; one alert per subject", "usecases/alerts.py `raise_alert`; sql/tables.py "
             "`lending_alerts`"),
            ("APPROVED and DISBURSING never expire and cannot be released", "domain/lending/states.py "
             "`MONEY_MAY_MOVE`"),
        ),
        ("tests/integration/test_model_lending.py::the_bank_pays_a_purchase_at_most_once",
         "tests/integration/test_disbursement_offers.py", "tests/e2e/test_disbursement_crash.py"),
    ),
    Invariant(
        "INV-L2", LENDING,
        "Held + drawn never exceeds the limit Mambu gives: a purchase is admitted only within Mambu's exact "
        "available amount, less what this system holds and the drawdowns Mambu had not booked when the line "
        "was read; a line Mambu does not state exactly (a missing, garbled or impossible amount) refuses, "
        "never counts as the full limit.",
        (
            ("the line read exactly, or refused (`linea_no_verificable`)", "adapters/mambu.py `read_credit_line`"),
            ("counted under the customer's row lock", "sql/lending_repository.py `held`"),
        ),
        ("tests/integration/test_model_lending.py::held_and_drawn_stay_within_the_limit",
         "tests/integration/test_mambu.py"),
    ),
    Invariant(
        "INV-L3", LENDING,
        "Every purchase state before money can move ends by its deadline (`expires_at`) once the timer runs, or "
        "by an operator's release, and releases its hold exactly once.",
        (
            ("every state holding limit has a deadline or is a money state; the module refuses to load "
             "otherwise", "domain/lending/states.py `EXPIRES`"),
            ("each move is a compare-and-set with its event in the same transaction", "sql/lending_repository.py "
             "`move`"),
            ("the timer and the operator's command", "usecases/lending.py `expire_qrs`, `release_purchase`"),
        ),
        ("tests/integration/test_model_lending.py::holds_end_in_time_and_once",
         "tests/integration/test_lending_holds.py"),
    ),
    Invariant(
        "INV-L4", LENDING,
        "Every money event reaches the distributor or is visibly parked: one event per outcome, written in "
        "the transaction that decides it; an event whose channel has no usable URL is PARKED at once, one given "
        "up is FAILED, both listed, counted on the console and replayable; a channel's URL changes only when "
        "an operator says so; a rotated secret keeps signing through its overlap (two signatures).",
        (
            ("the outbox row is written with the outcome", "usecases/disbursement_responses.py "
             "`_queue_webhooks`"),
            ("removing a URL parks the pending events in the same transaction", "usecases/webhooks.py "
             "`park_pending`"),
            ("URLs checked when saved", "domain/lending/webhooks.py `check_url`"),
            ("at most two secrets sign, the previous one until its overlap ends", "domain/lending/webhooks.py "
             "`signing`"),
        ),
        ("tests/integration/test_model_lending.py::every_money_outcome_has_its_event",
         "tests/integration/test_webhook_delivery.py"),
    ),
    Invariant(
        "INV-L5", LENDING,
        "No customer gets more OTP codes than the caps allow (per order, per customer and Mexico City day) nor "
        "more wrong guesses per day: a capped request sends no SMS.",
        (("every code is recorded before its SMS is sent; the caps are counted under the customer's row lock",
          "usecases/lending.py `_otp_cap`"),),
        ("tests/integration/test_model_lending.py::otp_codes_stay_under_the_caps",
         "tests/integration/test_lending_holds.py"),
    ),
)


def render_invariants() -> str:
    """docs/invariants.md: the table above, by flow."""
    out = [
        "# Money invariants",
        "",
        "<!-- written by `python manage.py openapi` from domain/invariants.py: edit that file -->",
        "",
        "What must hold whatever order billers, banks, distributors, Mambu, the bank's file robot, timers",
        "and crashes act in. Each invariant names what makes it hold and the test that searches for a",
        "sequence that breaks it: the stateful models drive the real use cases and SQL (SQLite and",
        "PostgreSQL) against a small model of each party and check every invariant after every step.",
        "",
        "Run the models: `make test` runs them at their default size. The deep profile:",
        "",
        "```sh",
        "MODEL_PROFILE=deep TEST_PG_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test \\",
        "  .venv/bin/python -m pytest tests/integration/test_model_debts.py tests/integration/test_model_lending.py",
        "```",
        "",
        "(`MODEL_EXAMPLES` and `MODEL_STEPS` set the size by hand.)",
    ]
    for flow in dict.fromkeys(inv.flow for inv in INVARIANTS):
        out += ["", f"## {flow}", ""]
        for inv in (i for i in INVARIANTS if i.flow == flow):
            out += [f"### {inv.id}", "", inv.statement, "", "Holds by:", ""]
            out += [f"- {how}: {where}" for how, where in inv.holds_by]
            out += ["", "Checked by: " + ", ".join(f"`{test}`" for test in inv.checked_by), ""]
    return "\n".join(out).rstrip() + "\n"
