"""The schema, as SQLAlchemy Core tables; Alembic migrations must match it (a test checks).

Types are chosen to map cleanly on SQLite, PostgreSQL and Azure SQL: bounded strings
(Azure SQL cannot index NVARCHAR(MAX)), timezone-aware timestamps (DATETIMEOFFSET),
explicit constraint names so that migrations can name them on every backend.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING)

companies = sa.Table(
    "companies",
    metadata,
    sa.Column("code", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Unicode(120), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # null: active; otherwise when it was deactivated (no consulta or pago, no debt file loaded;
    # reversals and payment files go on)
    sa.Column("deactivated_at", sa.DateTime(timezone=True)),
    sa.CheckConstraint("code BETWEEN 1 AND 99999", name="code_range"),
)

services = sa.Table(
    "services",
    metadata,
    sa.Column("company_code", sa.Integer, sa.ForeignKey("companies.code"), primary_key=True),
    sa.Column("code", sa.String(3), primary_key=True),
    sa.Column("currency", sa.String(3), nullable=False),
    sa.Column("validation_mode", sa.String(8), nullable=False),
    sa.CheckConstraint("code IN ('001', '002', '003', '004')", name="code_catalogue"),
    sa.CheckConstraint("currency IN ('PEN', 'USD')", name="currency"),
    sa.CheckConstraint("validation_mode IN ('completa', 'parcial')", name="validation_mode"),
)

collection_accounts = sa.Table(
    "collection_accounts",
    metadata,
    sa.Column("company_code", sa.Integer, primary_key=True),
    sa.Column("service_code", sa.String(3), primary_key=True),
    sa.Column("bank_code", sa.String(4), primary_key=True),
    sa.Column("account_number", sa.String(34), nullable=False),
    sa.ForeignKeyConstraint(
        ["company_code", "service_code"],
        ["services.company_code", "services.code"],
        name="fk_collection_accounts_service",
    ),
)

api_clients = sa.Table(
    "api_clients",
    metadata,
    sa.Column("client_id", sa.String(64), primary_key=True),
    sa.Column("secret_hash", sa.String(255), nullable=False),
    sa.Column("scopes", sa.String(255), nullable=False),
    sa.Column("bank_codes", sa.String(255)),  # YAPAGO: the idBanco values it may use; null = any
    sa.Column("channel_codes", sa.String(255)),  # lending: the distributor channels it is; null = none
    # +1 on every secret rotation, disable and enable: tokens carry it, older ones stop working
    sa.Column("credential_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("failed_attempts", sa.Integer, nullable=False, server_default="0"),  # wrong secrets in a row
    sa.Column("locked_until", sa.DateTime(timezone=True)),  # token requests refused (429) until then
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

# Wrong secrets per caller address in the current window (the token service's throttling, shared
# by every worker and instance). Rows of quiet addresses are purged as failures come in.
auth_source_failures = sa.Table(
    "auth_source_failures",
    metadata,
    sa.Column("source", sa.String(64), primary_key=True),
    sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Index("ix_auth_source_failures_window_start", "window_start"),
)

# -- debt repository (ASBANC) -------------------------------------------------------------------

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER keys only

debt_files = sa.Table(
    "debt_files",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("company_code", sa.Integer, sa.ForeignKey("companies.code"), nullable=False),
    sa.Column("file_name", sa.String(255), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),
    sa.Column("update_type", sa.String(1)),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("lines", sa.Integer, nullable=False),
    sa.Column("applied", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("header_records", sa.Integer),
    sa.Column("header_total_pen", sa.BigInteger),
    sa.Column("header_total_usd", sa.BigInteger),
    sa.Column("read_total_pen", sa.BigInteger, nullable=False),
    sa.Column("read_total_usd", sa.BigInteger, nullable=False),
    sa.Column("applied_total_pen", sa.BigInteger, nullable=False),
    sa.Column("applied_total_usd", sa.BigInteger, nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("company_code", "file_name"),
    sa.CheckConstraint("status IN ('PROCESADO', 'RECHAZADO')", name="status"),
)

debt_file_errors = sa.Table(
    "debt_file_errors",
    metadata,
    sa.Column("file_id", BigId, sa.ForeignKey("debt_files.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("field", sa.String(40), nullable=False),
    sa.Column("reason", sa.Unicode(255), nullable=False),
    sa.Column("raw_line", sa.Unicode(1024), nullable=False),  # latin-1 text of the original bytes
)

debts = sa.Table(
    "debts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("company_code", sa.Integer, nullable=False),
    sa.Column("client_code", sa.String(14), nullable=False),
    sa.Column("client_name", sa.Unicode(30), nullable=False),
    sa.Column("service_code", sa.String(3), nullable=False),
    sa.Column("document", sa.String(16), nullable=False),
    sa.Column("description", sa.Unicode(20), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("issue_date", sa.Date, nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("late_fee_cents", sa.BigInteger, nullable=False),
    sa.Column("admin_fee_cents", sa.BigInteger, nullable=False),
    sa.Column("minimum_cents", sa.BigInteger, nullable=False),
    sa.Column("period", sa.SmallInteger, nullable=False),
    sa.Column("year", sa.SmallInteger, nullable=False),
    sa.Column("installment", sa.SmallInteger, nullable=False),
    sa.Column("currency", sa.String(1), nullable=False),
    sa.Column("dni", sa.String(8)),
    sa.Column("ruc", sa.String(11)),
    sa.Column("alt_id", sa.String(14)),
    sa.Column("file_id", sa.BigInteger, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    # What YAPAGO payments took from this debt (validacion completa); restated by each load
    # from the payments the company could not have applied by the file's statement time
    # (domain/settlement.py, sql/debt_repository.py restate_paid).
    sa.Column("paid_cents", sa.BigInteger, nullable=False, server_default="0"),
    sa.UniqueConstraint("company_code", "client_code", "service_code", "document"),
    sa.ForeignKeyConstraint(
        ["company_code", "service_code"], ["services.company_code", "services.code"], name="fk_debts_service"
    ),
)

# idConsulta -> client: the client code, DNI, RUC and Identificador 04 without leading zeros
# (NOTES.md), one row per distinct (key, client). Per client, not per debt: cheap to load.
debt_lookup = sa.Table(
    "debt_lookup",
    metadata,
    sa.Column("company_code", sa.Integer, primary_key=True),
    sa.Column("lookup_key", sa.String(14), primary_key=True),
    sa.Column("client_code", sa.String(14), primary_key=True),
    sqlite_with_rowid=False,  # one B-tree instead of two: loads insert one row per client
)

# -- YAPAGO payments --------------------------------------------------------------------------

payments = sa.Table(
    "payments",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("company_code", sa.Integer, nullable=False),
    sa.Column("service_code", sa.String(3), nullable=False),
    sa.Column("bank_code", sa.String(4), nullable=False),
    sa.Column("operation_number", sa.String(20), nullable=False),
    sa.Column("channel", sa.String(2), nullable=False),
    sa.Column("payment_method", sa.String(2), nullable=False),
    sa.Column("query_id", sa.String(20), nullable=False),
    sa.Column("voucher", sa.String(40), nullable=False),
    sa.Column("debt_reference", sa.String(20)),
    # a copy of the debt as it was paid: a later R load may replace the debt row
    sa.Column("client_code", sa.String(14), nullable=False),
    sa.Column("client_name", sa.Unicode(30), nullable=False),
    sa.Column("document", sa.String(16), nullable=False),
    sa.Column("due_date", sa.Date, nullable=False),
    sa.Column("currency", sa.String(1), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("validation_mode", sa.String(8), nullable=False),
    sa.Column("txn_at", sa.DateTime(timezone=True), nullable=False),  # fechaTxn + horaTxn, America/Lima
    # fechaTxn itself: a bank's operation is (bank_code, operation_number, txn_date); banks whose
    # numbers restart (per day, per terminal) reuse a number on another day for a new payment
    sa.Column("txn_date", sa.Date, nullable=False),
    sa.Column("status", sa.String(1), nullable=False),  # P pagado, A anulado/extornado
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("reversed_at", sa.DateTime(timezone=True)),
    sa.Column("reversal_txn_at", sa.DateTime(timezone=True)),
    sa.Column("reversal_channel", sa.String(2)),
    # the FTR's accounting day (America/Lima, moved to the next day after the cut-off hour),
    # fixed when the payment or its reversal is booked; the payment file prints it
    sa.Column("accounting_date", sa.Date),
    sa.Column("reversal_accounting_date", sa.Date),
    # the debt's total (amount + late fee + admin fee) as the biller stated it when this payment
    # took it: a reload stating the same total has not deducted the payment (sql/debt_repository.py
    # restate_paid). Null for payments taken before migration 0024.
    sa.Column("stated_cents", sa.BigInteger),
    sa.UniqueConstraint("bank_code", "operation_number", "txn_date"),
    sa.CheckConstraint("status IN ('P', 'A')", name="status"),
    sa.Index("ix_payments_debt", "company_code", "service_code", "document", "client_code"),
    sa.Index("ix_payments_company", "company_code", "id"),  # the payment-file generator's scan
)

# Idempotency: the first answer to (bank, numeroOperacion, day, operation), replayed verbatim.
# The day is the payment's fechaTxn, for a pago and for the reversa that undoes that payment.
api_operations = sa.Table(
    "api_operations",
    metadata,
    sa.Column("bank_code", sa.String(4), primary_key=True),
    sa.Column("operation_number", sa.String(20), primary_key=True),
    sa.Column("txn_date", sa.Date, primary_key=True),
    sa.Column("operation", sa.String(10), primary_key=True),
    sa.Column("request_sha256", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response", sa.UnicodeText, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# -- payment files ------------------------------------------------------------------------------

payment_files = sa.Table(
    "payment_files",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("company_code", sa.Integer, sa.ForeignKey("companies.code"), nullable=False),
    sa.Column("file_name", sa.String(32), nullable=False),
    sa.Column("file_date", sa.Date, nullable=False),  # America/Lima day in the name
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("total_pen", sa.BigInteger, nullable=False),  # paid minus reversed, cents
    sa.Column("total_usd", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True)),  # null: reserved, not yet on the exchange
    # the company's payment_records with after_record_id < id <= last_record_id
    sa.Column("after_record_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_record_id", sa.BigInteger, nullable=False, server_default="0"),
    # first observed absent from the company's Pagos/ (the biller moved or deleted it, which it
    # does once the file is applied) by a sweep; never earlier than that observation. Null: still
    # there, or not written yet (usecases/payment_files.py sweep_taken)
    sa.Column("taken_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("company_code", "file_name"),
    sa.UniqueConstraint("company_code", "file_date", "seq"),
)

# Every payment (P) and reversal (A) as its file record, rendered when it is booked. The id
# orders records by booking per company, and a file holds a company's id range: the records
# with after_record_id < id <= last_record_id. Ranges are exact because booking inserts a
# record only while holding its company's cursor row in share mode, and the generator reads
# the last id while holding it exclusively (see sql/payment_file_repository.py).
payment_records = sa.Table(
    "payment_records",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("company_code", sa.Integer, nullable=False),
    sa.Column("payment_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(1), nullable=False),
    sa.Column("currency", sa.String(1), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("booked_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("record", sa.String(236), nullable=False),
    sa.UniqueConstraint("payment_id", "kind"),  # a payment and its reversal are each booked once
    sa.CheckConstraint("kind IN ('P', 'A')", name="kind"),
    sa.Index("ix_payment_records_company_code_id", "company_code", "id"),
)

# One row per company: the last record id already in a file, and the lock that orders
# booking (share) against reserving a file (exclusive).
payment_file_cursors = sa.Table(
    "payment_file_cursors",
    metadata,
    sa.Column("company_code", sa.Integer, sa.ForeignKey("companies.code"), primary_key=True, autoincrement=False),
    sa.Column("last_record_id", sa.BigInteger, nullable=False),
)

# -- collections management API (Colombia) -------------------------------------------------------

# An account's payment agreement (GET agreement/ics): the answer document as the operator
# imported it, keyed by the account and by the holder's identity.
collection_agreements = sa.Table(
    "collection_agreements",
    metadata,
    sa.Column("acct_id", sa.String(20), primary_key=True),  # without the right padding to 20
    sa.Column("ident_type", sa.String(2), nullable=False),
    sa.Column("ident_num", sa.String(15), nullable=False),
    sa.Column("acct_type", sa.Unicode(60), nullable=False),
    sa.Column("document", sa.UnicodeText, nullable=False),  # the agreement answer, JSON
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_collection_agreements_ident", "ident_type", "ident_num"),
)

# Every negotiation mark received, with the state the core would give it.
negotiation_marks = sa.Table(
    "negotiation_marks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("core", sa.String(3), nullable=False),  # BM, SLP, OTC, OCR
    sa.Column("strategy_type", sa.String(10), nullable=False),
    sa.Column("acct_id", sa.String(20), nullable=False),  # right-padded to 20, as the core reads it
    sa.Column("partial_pmt", sa.String(1)),  # P or T; null where the tool has no commitments
    sa.Column("amount_cents", sa.BigInteger),
    sa.Column("start_date", sa.Date),
    sa.Column("end_date", sa.Date),
    sa.Column("state", sa.String(10), nullable=False),  # Received / Rejected
    sa.Column("reason", sa.Unicode(200), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("request", sa.UnicodeText, nullable=False),  # the checked request, JSON
    sa.Column("request_hash", sa.String(64)),  # its SHA-256: how a retry is found (migration 0020)
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_negotiation_marks_negotiation", "core", "acct_id", "strategy_type", "start_date"),
    sa.Index("ix_negotiation_marks_retry", "client_id", "acct_id", "request_hash"),
)

# Each profiled listValidation item, with the figures the engine calculated.
collection_profiles = sa.Table(
    "collection_profiles",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("trn_rq_uid", sa.String(40), nullable=False),
    sa.Column("acct_id", sa.String(20), nullable=False),
    sa.Column("ident_type", sa.String(2), nullable=False),
    sa.Column("ident_num", sa.String(15), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("business_net", sa.Numeric(18, 2)),
    sa.Column("disposable", sa.Numeric(18, 2)),
    sa.Column("capacity", sa.Numeric(18, 2)),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("request", sa.UnicodeText, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_collection_profiles_acct_id", "acct_id"),
)

# Each creditAnalysis item the policies engine decided: viability, and the recalculated plan.
collection_policy_decisions = sa.Table(
    "collection_policy_decisions",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("trn_rq_uid", sa.String(40), nullable=False),
    sa.Column("acct_id", sa.String(20), nullable=False),
    sa.Column("strategy_type", sa.String(10), nullable=False),  # empty: every tool was evaluated
    sa.Column("recalculated", sa.Boolean, nullable=False),  # primer momento (false) or recalculo
    sa.Column("viable", sa.Boolean, nullable=False),
    sa.Column("installment", sa.Numeric(18, 2)),
    sa.Column("forgiven", sa.Numeric(18, 2)),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("response", sa.UnicodeText, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_collection_policy_decisions_acct_id", "acct_id"),
)

# Collection agreements (convenios de recaudo) for banking agents, their payment references,
# and every check an agent made (the approval id it got).
collection_convenios = sa.Table(
    "collection_convenios",
    metadata,
    sa.Column("ref_id", sa.String(20), primary_key=True),
    sa.Column("name", sa.Unicode(80), nullable=False),
    sa.Column("ref_type", sa.String(10), nullable=False),
    sa.Column("flag_update", sa.String(1), nullable=False),  # 1: the payer may change the amount
    sa.Column("pmt_ref_id", sa.String(20), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

collection_references = sa.Table(
    "collection_references",
    metadata,
    sa.Column("ref_id", sa.String(20), sa.ForeignKey("collection_convenios.ref_id"), primary_key=True),
    sa.Column("reference", sa.String(40), primary_key=True),
    sa.Column("full_name", sa.Unicode(120), nullable=False),
    sa.Column("amounts", sa.UnicodeText, nullable=False),  # [{"name", "value"}], JSON with exact decimals
    sa.Column("due_date", sa.Date),
    sa.Column("acct_id", sa.String(30), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

collection_checks = sa.Table(
    "collection_checks",
    metadata,
    sa.Column("approval_id", sa.String(20), primary_key=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("tx_id", sa.String(20), nullable=False),
    sa.Column("action", sa.String(1), nullable=False),
    sa.Column("ref_id", sa.String(20), nullable=False),
    sa.Column("reference", sa.String(40), nullable=False),
    sa.Column("response", sa.UnicodeText, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # sha256 of the request without its transport fields: a retry matches, another request not
    sa.Column("request_hash", sa.String(64)),
    sa.UniqueConstraint("client_id", "tx_id"),  # a repeated TxId is a retry: its first answer again
)

# Who looked up which agreement (GET agreement/ics), found or not: reads of personal data are audited.
collection_agreement_lookups = sa.Table(
    "collection_agreement_lookups",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("acct_id", sa.String(20)),
    sa.Column("ident_type", sa.String(2)),
    sa.Column("ident_num", sa.String(15)),
    sa.Column("found", sa.Boolean, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# -- credit-line QR payments (Mexico) -------------------------------------------------------------

# Distributor channels (KOF, Pronto) and the CLABE their purchases are paid to.
lending_channels = sa.Table(
    "lending_channels",
    metadata,
    sa.Column("channel", sa.String(10), primary_key=True),
    sa.Column("name", sa.Unicode(80), nullable=False),
    sa.Column("clabe", sa.String(18), nullable=False),  # check digit validated on the way in
    sa.Column("webhook_url", sa.String(300)),
    # its webhook secret is derived from LENDING_WEBHOOK_KEY and this version (bump to rotate)
    sa.Column("webhook_secret_version", sa.Integer, nullable=False, server_default="1"),
    # after a rotation: the version replaced, and when it stops signing (until then every event
    # carries both signatures, so the distributor accepts with either; migration 0027)
    sa.Column("webhook_previous_version", sa.Integer),
    sa.Column("webhook_previous_until", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Customers of the credit line: where their OTPs go, and the row their purchases lock so that
# simultaneous requests of one customer take turns on the limit.
lending_customers = sa.Table(
    "lending_customers",
    metadata,
    sa.Column("customer_id", sa.String(40), primary_key=True),
    sa.Column("phone", sa.String(20), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Payment orders a distributor registers for a customer (spec step 1).
lending_orders = sa.Table(
    "lending_orders",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(10), sa.ForeignKey("lending_channels.channel"), nullable=False),
    sa.Column("order_id", sa.String(40), nullable=False),
    sa.Column("customer_id", sa.String(40), sa.ForeignKey("lending_customers.customer_id"), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("concept", sa.Unicode(80), nullable=False),
    sa.Column("client_id", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("channel", "order_id"),
)

# A purchase on the credit line: the transaction and its QR (spec steps 2-19), in its state.
lending_purchases = sa.Table(
    "lending_purchases",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),  # the transaction id printed in the QR
    sa.Column("order_ref", sa.BigInteger, sa.ForeignKey("lending_orders.id"), nullable=False),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("customer_id", sa.String(40), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("amount_cents", sa.BigInteger, nullable=False),
    sa.Column("concept", sa.Unicode(80), nullable=False),
    sa.Column("operation", sa.String(30), nullable=False),
    sa.Column("clabe", sa.String(18), nullable=False),
    sa.Column("state", sa.String(24), nullable=False),
    sa.Column("valid_until", sa.DateTime(timezone=True)),
    sa.Column("expires_at", sa.DateTime(timezone=True)),  # before money can move: expired by the timer then
    sa.Column("payload", sa.UnicodeText),  # the signed QR payload, once issued
    sa.Column("reason", sa.Unicode(300), nullable=False),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),  # retry files it went into
    sa.Column("retried_at", sa.DateTime(timezone=True)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lending_purchases_customer_id_state", "customer_id", "state"),
    sa.Index("ix_lending_purchases_state_valid_until", "state", "valid_until"),
    sa.Index("ix_lending_purchases_state_expires_at", "state", "expires_at"),
    sa.Index("ix_lending_purchases_order_ref", "order_ref"),
)

# Every credit-engine answer (spec steps 5 and 19), approved or not.
lending_credit_checks = sa.Table(
    "lending_credit_checks",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("purchase_id", sa.String(36), nullable=False),
    sa.Column("step", sa.String(20), nullable=False),  # qr_request or approval
    sa.Column("approved", sa.Boolean, nullable=False),
    sa.Column("code", sa.String(40), nullable=False),
    sa.Column("message", sa.Unicode(300), nullable=False),
    sa.Column("credit_limit", sa.Numeric(18, 2)),
    sa.Column("available", sa.Numeric(18, 2)),
    sa.Column("overdue", sa.Numeric(18, 2)),
    sa.Column("held", sa.Numeric(18, 2)),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lending_credit_checks_purchase_id", "purchase_id"),
)

# OTPs: only a keyed hash of the code, its expiry and the attempts.
lending_otps = sa.Table(
    "lending_otps",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("purchase_id", sa.String(36), nullable=False),
    sa.Column("purpose", sa.String(10), nullable=False),  # otp1 (QR) or otp2 (payment)
    sa.Column("code_hash", sa.String(64), nullable=False),
    sa.Column("salt", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("wrong", sa.Integer, nullable=False, server_default="0"),  # wrong codes among the attempts
    sa.Column("outcome", sa.String(20)),  # ok, wrong, expired, too_many_attempts, locked (last); not_sent
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lending_otps_purchase_id_purpose", "purchase_id", "purpose"),
)

# Every state change of a purchase, refused ones included (what was asked, from where, why).
lending_events = sa.Table(
    "lending_events",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("purchase_id", sa.String(36), nullable=False),
    sa.Column("from_state", sa.String(24)),
    sa.Column("event", sa.String(30), nullable=False),
    sa.Column("to_state", sa.String(24)),
    sa.Column("detail", sa.Unicode(300), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lending_events_purchase_id", "purchase_id"),
)

# Dispersion and retry files to the bank, and what each holds (spec steps 24-30): a purchase
# attempt is in exactly one file; the file is rendered from these rows alone.
lending_disbursement_files = sa.Table(
    "lending_disbursement_files",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("file_name", sa.String(40), nullable=False, unique=True),
    sa.Column("kind", sa.String(1), nullable=False),  # D dispersion, R retry
    sa.Column("records", sa.Integer, nullable=False),
    sa.Column("total_cents", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True)),  # null: reserved, not yet on the exchange
    # Committed before the move that puts the file in the bank's folder: from then on the bank may
    # have it, so it is never written again unless an operator says the bank did not get it.
    sa.Column("publishing_at", sa.DateTime(timezone=True)),
    # Set when a run found it offered, unmarked and gone (the bank may have taken it): held for an
    # operator (lending_alerts), never offered again by a run.
    sa.Column("parked_at", sa.DateTime(timezone=True)),
)

lending_dispatches = sa.Table(
    "lending_dispatches",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),  # also the SPEI reference (mod 10^7)
    sa.Column("purchase_id", sa.String(36), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),  # 0 the dispersion, 1.. retries
    sa.Column("file_id", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # the bank's answer to this attempt, once: P processed or R rejected
    sa.Column("result", sa.String(1)),
    sa.Column("reason_code", sa.String(2)),
    sa.Column("tracking_key", sa.String(30)),
    sa.Column("response_line_id", sa.BigInteger),
    sa.Column("responded_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("purchase_id", "attempt"),  # an attempt is sent once
    sa.Index("ix_lending_dispatches_file_id", "file_id"),
)

# Response files from the bank, each applied once (identified by its content's SHA-256), and
# every line of each with what became of it: the audit of what the bank said.
lending_response_files = sa.Table(
    "lending_response_files",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("file_name", sa.String(120), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("lines", sa.Integer, nullable=False),
    sa.Column("disbursed", sa.Integer, nullable=False),
    sa.Column("retried", sa.Integer, nullable=False),
    sa.Column("failed", sa.Integer, nullable=False),
    sa.Column("malformed", sa.Integer, nullable=False),
    sa.Column("unknown", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    sa.Column("retry_file_id", sa.BigInteger),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
)

lending_response_lines = sa.Table(
    "lending_response_lines",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("file_id", sa.BigInteger, nullable=False),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("purchase_id", sa.String(36)),  # null when the line could not be read
    sa.Column("attempt", sa.Integer),
    sa.Column("status", sa.String(1)),
    sa.Column("reason_code", sa.String(2)),
    sa.Column("tracking_key", sa.String(30)),
    sa.Column("outcome", sa.String(12), nullable=False),  # disbursed retry failed | malformed unknown duplicate
    sa.Column("detail", sa.Unicode(300), nullable=False),
    sa.Index("ix_lending_response_lines_file_id_outcome", "file_id", "outcome"),
    sa.Index("ix_lending_response_lines_purchase_id_attempt", "purchase_id", "attempt"),
)

# The webhook outbox (spec step 31): written in the transaction that decides the outcome, so
# an event exists exactly when its purchase changed; delivered afterwards with backoff. The
# event id is the purchase id and the outcome: one per purchase, the same on every retry.
lending_webhooks = sa.Table(
    "lending_webhooks",
    metadata,
    sa.Column("event_id", sa.String(64), primary_key=True),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("purchase_id", sa.String(36), nullable=False),
    sa.Column("outcome", sa.String(12), nullable=False),  # disbursed | failed
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("reason_code", sa.String(2)),
    sa.Column("tracking_key", sa.String(30)),
    sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
    # PENDING (to be tried) DELIVERED, or waiting for an operator: FAILED (given up after the
    # delivery window) or PARKED (its channel had no usable webhook URL); both replayable
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_status", sa.Integer),
    sa.Column("last_error", sa.Unicode(300)),
    sa.Column("body", sa.UnicodeText),  # the exact bytes signed, fixed at the first try
    sa.Column("delivered_at", sa.DateTime(timezone=True)),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),  # the give-up window starts here
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lending_webhooks_state_next_attempt_at", "state", "next_attempt_at"),
)

# The credit a disbursed purchase consumed, booked in Mambu as a disbursement on the customer's
# loan account (usecases/drawdowns.py). Inserted in the transaction that marks the purchase
# DISBURSED, so the amount passes from the purchase's hold to this ledger without a gap; the
# credit check counts it until Mambu confirmed the booking before the line was read.
lending_drawdowns = sa.Table(
    "lending_drawdowns",
    metadata,
    sa.Column("purchase_id", sa.String(36), sa.ForeignKey("lending_purchases.id"), primary_key=True),
    sa.Column("customer_id", sa.String(40), nullable=False),
    sa.Column("amount", sa.Numeric(18, 2), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),  # PENDING BOOKED
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.String(300)),
    sa.Column("mambu_transaction_id", sa.String(64)),
    sa.Column("booked_at", sa.DateTime(timezone=True)),  # when Mambu's answer was back
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_lending_drawdowns_customer_id_booked_at", "customer_id", "booked_at"),
    sa.Index("ix_lending_drawdowns_state_next_attempt_at", "state", "next_attempt_at"),
)

# What an operator must look at because money may have left twice or may be with the bank
# unanswered: a dispersion file that may have been taken (parked), a payment the bank reports
# that is not the purchase's one disbursement. Raised once per subject, in the transaction that
# found it; open until an operator resolves it (manage.py alerts, the console's Lending page).
lending_alerts = sa.Table(
    "lending_alerts",
    metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(80), nullable=False, unique=True),  # file:NAME or line:ID, raised once
    sa.Column("kind", sa.String(24), nullable=False),  # dispersion_uncertain double_payment unexpected_payment ...
    sa.Column("purchase_id", sa.String(36)),
    sa.Column("file_name", sa.String(120)),  # the dispersion or retry file, or the response file
    sa.Column("response_line_id", sa.BigInteger),
    sa.Column("detail", sa.Unicode(600), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
    sa.Column("resolution", sa.Unicode(300)),
    sa.Index("ix_lending_alerts_resolved_at", "resolved_at"),
)

# One row per background run that must not overlap itself (held FOR UPDATE for its transaction).
run_locks = sa.Table(
    "run_locks",
    metadata,
    sa.Column("name", sa.String(40), primary_key=True),
)
