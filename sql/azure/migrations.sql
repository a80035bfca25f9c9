-- Generated from sql/migrations by `python manage.py azure-sql`; do not edit by hand.
-- Apply with sqlcmd or Azure Data Studio to an empty database, or let
-- `python manage.py migrate` run the same migrations through mssql+pyodbc.

BEGIN TRANSACTION;

CREATE TABLE alembic_version (
    version_num VARCHAR(32) NOT NULL, 
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);

GO

-- Running upgrade  -> 0001

CREATE TABLE companies (
    code INTEGER NOT NULL, 
    name VARCHAR(120) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_companies PRIMARY KEY (code), 
    CONSTRAINT ck_companies_code_range CHECK (code BETWEEN 1 AND 99999)
);

GO

CREATE TABLE services (
    company_code INTEGER NOT NULL, 
    code VARCHAR(3) NOT NULL, 
    currency VARCHAR(3) NOT NULL, 
    validation_mode VARCHAR(8) NOT NULL, 
    CONSTRAINT pk_services PRIMARY KEY (company_code, code), 
    CONSTRAINT ck_services_code_catalogue CHECK (code IN ('001', '002', '003', '004')), 
    CONSTRAINT ck_services_currency CHECK (currency IN ('PEN', 'USD')), 
    CONSTRAINT ck_services_validation_mode CHECK (validation_mode IN ('completa', 'parcial')), 
    CONSTRAINT fk_services_company_code_companies FOREIGN KEY(company_code) REFERENCES companies (code)
);

GO

CREATE TABLE collection_accounts (
    company_code INTEGER NOT NULL, 
    service_code VARCHAR(3) NOT NULL, 
    bank_code VARCHAR(4) NOT NULL, 
    account_number VARCHAR(34) NOT NULL, 
    CONSTRAINT pk_collection_accounts PRIMARY KEY (company_code, service_code, bank_code), 
    CONSTRAINT fk_collection_accounts_service FOREIGN KEY(company_code, service_code) REFERENCES services (company_code, code)
);

GO

CREATE TABLE api_clients (
    client_id VARCHAR(64) NOT NULL, 
    secret_hash VARCHAR(255) NOT NULL, 
    scopes VARCHAR(255) NOT NULL, 
    active BIT NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    updated_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_api_clients PRIMARY KEY (client_id)
);

GO

INSERT INTO alembic_version (version_num) OUTPUT inserted.version_num VALUES ('0001');

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0001 -> 0002

CREATE TABLE debt_files (
    id BIGINT NOT NULL IDENTITY, 
    company_code INTEGER NOT NULL, 
    file_name VARCHAR(255) NOT NULL, 
    content_sha256 VARCHAR(64) NOT NULL, 
    update_type VARCHAR(1) NULL, 
    status VARCHAR(10) NOT NULL, 
    lines INTEGER NOT NULL, 
    applied INTEGER NOT NULL, 
    rejected INTEGER NOT NULL, 
    header_records INTEGER NULL, 
    header_total_pen BIGINT NULL, 
    header_total_usd BIGINT NULL, 
    read_total_pen BIGINT NOT NULL, 
    read_total_usd BIGINT NOT NULL, 
    applied_total_pen BIGINT NOT NULL, 
    applied_total_usd BIGINT NOT NULL, 
    started_at DATETIMEOFFSET NOT NULL, 
    finished_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_debt_files PRIMARY KEY (id), 
    CONSTRAINT fk_debt_files_company_code_companies FOREIGN KEY(company_code) REFERENCES companies (code), 
    CONSTRAINT uq_debt_files_company_code_file_name UNIQUE (company_code, file_name), 
    CONSTRAINT ck_debt_files_status CHECK (status IN ('PROCESADO', 'RECHAZADO'))
);

GO

CREATE TABLE debt_file_errors (
    file_id BIGINT NOT NULL, 
    seq INTEGER NOT NULL, 
    line_no INTEGER NOT NULL, 
    field VARCHAR(40) NOT NULL, 
    reason VARCHAR(255) NOT NULL, 
    raw_line VARCHAR(1024) NOT NULL, 
    CONSTRAINT pk_debt_file_errors PRIMARY KEY (file_id, seq), 
    CONSTRAINT fk_debt_file_errors_file_id_debt_files FOREIGN KEY(file_id) REFERENCES debt_files (id)
);

GO

CREATE TABLE debts (
    id BIGINT NOT NULL IDENTITY, 
    company_code INTEGER NOT NULL, 
    client_code VARCHAR(14) NOT NULL, 
    client_name VARCHAR(30) NOT NULL, 
    service_code VARCHAR(3) NOT NULL, 
    document VARCHAR(16) NOT NULL, 
    description VARCHAR(20) NOT NULL, 
    due_date DATE NOT NULL, 
    issue_date DATE NOT NULL, 
    amount_cents BIGINT NOT NULL, 
    late_fee_cents BIGINT NOT NULL, 
    admin_fee_cents BIGINT NOT NULL, 
    minimum_cents BIGINT NOT NULL, 
    period SMALLINT NOT NULL, 
    year SMALLINT NOT NULL, 
    installment SMALLINT NOT NULL, 
    currency VARCHAR(1) NOT NULL, 
    dni VARCHAR(8) NULL, 
    ruc VARCHAR(11) NULL, 
    alt_id VARCHAR(14) NULL, 
    file_id BIGINT NOT NULL, 
    line_no INTEGER NOT NULL, 
    CONSTRAINT pk_debts PRIMARY KEY (id), 
    CONSTRAINT uq_debts_company_code_client_code_service_code_document UNIQUE (company_code, client_code, service_code, document), 
    CONSTRAINT fk_debts_service FOREIGN KEY(company_code, service_code) REFERENCES services (company_code, code)
);

GO

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0002 -> 0003

ALTER TABLE debts ADD paid_cents BIGINT NOT NULL DEFAULT '0';

GO

CREATE TABLE debt_lookup (
    company_code INTEGER NOT NULL, 
    lookup_key VARCHAR(14) NOT NULL, 
    client_code VARCHAR(14) NOT NULL, 
    CONSTRAINT pk_debt_lookup PRIMARY KEY (company_code, lookup_key, client_code)
);

GO

CREATE TABLE payments (
    id BIGINT NOT NULL IDENTITY, 
    company_code INTEGER NOT NULL, 
    service_code VARCHAR(3) NOT NULL, 
    bank_code VARCHAR(4) NOT NULL, 
    operation_number VARCHAR(20) NOT NULL, 
    channel VARCHAR(2) NOT NULL, 
    payment_method VARCHAR(2) NOT NULL, 
    query_id VARCHAR(20) NOT NULL, 
    voucher VARCHAR(40) NOT NULL, 
    debt_reference VARCHAR(20) NULL, 
    client_code VARCHAR(14) NOT NULL, 
    client_name VARCHAR(30) NOT NULL, 
    document VARCHAR(16) NOT NULL, 
    due_date DATE NOT NULL, 
    currency VARCHAR(1) NOT NULL, 
    amount_cents BIGINT NOT NULL, 
    validation_mode VARCHAR(8) NOT NULL, 
    txn_at DATETIMEOFFSET NOT NULL, 
    status VARCHAR(1) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    reversed_at DATETIMEOFFSET NULL, 
    reversal_txn_at DATETIMEOFFSET NULL, 
    reversal_channel VARCHAR(2) NULL, 
    CONSTRAINT pk_payments PRIMARY KEY (id), 
    CONSTRAINT uq_payments_bank_code_operation_number UNIQUE (bank_code, operation_number), 
    CONSTRAINT ck_payments_status CHECK (status IN ('P', 'A'))
);

GO

CREATE INDEX ix_payments_debt ON payments (company_code, service_code, document, client_code);

GO

CREATE TABLE api_operations (
    bank_code VARCHAR(4) NOT NULL, 
    operation_number VARCHAR(20) NOT NULL, 
    operation VARCHAR(10) NOT NULL, 
    request_sha256 VARCHAR(64) NOT NULL, 
    status_code INTEGER NOT NULL, 
    response VARCHAR(max) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_api_operations PRIMARY KEY (bank_code, operation_number, operation)
);

GO

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0003 -> 0004

ALTER TABLE payments ADD accounting_date DATE NULL;

GO

ALTER TABLE payments ADD reversal_accounting_date DATE NULL;

GO

CREATE INDEX ix_payments_company ON payments (company_code, id);

GO

CREATE TABLE payment_files (
    id BIGINT NOT NULL IDENTITY, 
    company_code INTEGER NOT NULL, 
    file_name VARCHAR(32) NOT NULL, 
    file_date DATE NOT NULL, 
    seq INTEGER NOT NULL, 
    records INTEGER NOT NULL, 
    total_pen BIGINT NOT NULL, 
    total_usd BIGINT NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    uploaded_at DATETIMEOFFSET NULL, 
    CONSTRAINT pk_payment_files PRIMARY KEY (id), 
    CONSTRAINT fk_payment_files_company_code_companies FOREIGN KEY(company_code) REFERENCES companies (code), 
    CONSTRAINT uq_payment_files_company_code_file_name UNIQUE (company_code, file_name), 
    CONSTRAINT uq_payment_files_company_code_file_date_seq UNIQUE (company_code, file_date, seq)
);

GO

CREATE TABLE payment_file_items (
    payment_id BIGINT NOT NULL, 
    kind VARCHAR(1) NOT NULL, 
    file_id BIGINT NOT NULL, 
    CONSTRAINT pk_payment_file_items PRIMARY KEY (payment_id, kind), 
    CONSTRAINT ck_payment_file_items_kind CHECK (kind IN ('P', 'A'))
);

GO

CREATE INDEX ix_payment_file_items_file ON payment_file_items (file_id);

GO

UPDATE alembic_version SET version_num='0004' WHERE alembic_version.version_num = '0003';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0004 -> 0005

ALTER TABLE api_clients ADD bank_codes VARCHAR(255) NULL;

GO

UPDATE alembic_version SET version_num='0005' WHERE alembic_version.version_num = '0004';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0005 -> 0006

CREATE TABLE payment_records (
    id BIGINT NOT NULL IDENTITY, 
    company_code INTEGER NOT NULL, 
    payment_id BIGINT NOT NULL, 
    kind VARCHAR(1) NOT NULL, 
    currency VARCHAR(1) NOT NULL, 
    amount_cents BIGINT NOT NULL, 
    booked_at DATETIMEOFFSET NOT NULL, 
    record VARCHAR(236) NOT NULL, 
    CONSTRAINT pk_payment_records PRIMARY KEY (id), 
    CONSTRAINT uq_payment_records_payment_id_kind UNIQUE (payment_id, kind), 
    CONSTRAINT ck_payment_records_kind CHECK (kind IN ('P', 'A'))
);

GO

CREATE INDEX ix_payment_records_company_code_id ON payment_records (company_code, id);

GO

CREATE TABLE payment_file_cursors (
    company_code INTEGER NOT NULL, 
    last_record_id BIGINT NOT NULL, 
    CONSTRAINT pk_payment_file_cursors PRIMARY KEY (company_code), 
    CONSTRAINT fk_payment_file_cursors_company_code_companies FOREIGN KEY(company_code) REFERENCES companies (code)
);

GO

ALTER TABLE payment_files ADD after_record_id BIGINT NOT NULL DEFAULT '0';

GO

ALTER TABLE payment_files ADD last_record_id BIGINT NOT NULL DEFAULT '0';

GO

INSERT INTO payment_file_cursors (company_code, last_record_id) SELECT code, 0 FROM companies;

GO

DROP INDEX ix_payment_file_items_file ON payment_file_items;

GO

DROP TABLE payment_file_items;

GO

UPDATE alembic_version SET version_num='0006' WHERE alembic_version.version_num = '0005';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0006 -> 0007

CREATE TABLE collection_agreements (
    acct_id VARCHAR(20) NOT NULL, 
    ident_type VARCHAR(2) NOT NULL, 
    ident_num VARCHAR(15) NOT NULL, 
    acct_type VARCHAR(60) NOT NULL, 
    document VARCHAR(max) NOT NULL, 
    updated_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_agreements PRIMARY KEY (acct_id)
);

GO

CREATE INDEX ix_collection_agreements_ident ON collection_agreements (ident_type, ident_num);

GO

CREATE TABLE negotiation_marks (
    id BIGINT NOT NULL IDENTITY, 
    core VARCHAR(3) NOT NULL, 
    strategy_type VARCHAR(10) NOT NULL, 
    acct_id VARCHAR(20) NOT NULL, 
    partial_pmt VARCHAR(1) NULL, 
    amount_cents BIGINT NULL, 
    start_date DATE NULL, 
    end_date DATE NULL, 
    state VARCHAR(10) NOT NULL, 
    reason VARCHAR(200) NOT NULL, 
    client_id VARCHAR(64) NOT NULL, 
    request VARCHAR(max) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_negotiation_marks PRIMARY KEY (id)
);

GO

CREATE INDEX ix_negotiation_marks_negotiation ON negotiation_marks (core, acct_id, strategy_type, start_date);

GO

UPDATE alembic_version SET version_num='0007' WHERE alembic_version.version_num = '0006';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0007 -> 0008

CREATE TABLE collection_profiles (
    id BIGINT NOT NULL IDENTITY, 
    trn_rq_uid VARCHAR(40) NOT NULL, 
    acct_id VARCHAR(20) NOT NULL, 
    ident_type VARCHAR(2) NOT NULL, 
    ident_num VARCHAR(15) NOT NULL, 
    action VARCHAR(40) NOT NULL, 
    business_net NUMERIC(18, 2) NULL, 
    disposable NUMERIC(18, 2) NULL, 
    capacity NUMERIC(18, 2) NULL, 
    client_id VARCHAR(64) NOT NULL, 
    request VARCHAR(max) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_profiles PRIMARY KEY (id)
);

GO

CREATE INDEX ix_collection_profiles_acct_id ON collection_profiles (acct_id);

GO

UPDATE alembic_version SET version_num='0008' WHERE alembic_version.version_num = '0007';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0008 -> 0009

CREATE TABLE collection_policy_decisions (
    id BIGINT NOT NULL IDENTITY, 
    trn_rq_uid VARCHAR(40) NOT NULL, 
    acct_id VARCHAR(20) NOT NULL, 
    strategy_type VARCHAR(10) NOT NULL, 
    recalculated BIT NOT NULL, 
    viable BIT NOT NULL, 
    installment NUMERIC(18, 2) NULL, 
    forgiven NUMERIC(18, 2) NULL, 
    client_id VARCHAR(64) NOT NULL, 
    response VARCHAR(max) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_policy_decisions PRIMARY KEY (id)
);

GO

CREATE INDEX ix_collection_policy_decisions_acct_id ON collection_policy_decisions (acct_id);

GO

UPDATE alembic_version SET version_num='0009' WHERE alembic_version.version_num = '0008';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0009 -> 0010

CREATE TABLE collection_convenios (
    ref_id VARCHAR(20) NOT NULL, 
    name VARCHAR(80) NOT NULL, 
    ref_type VARCHAR(10) NOT NULL, 
    flag_update VARCHAR(1) NOT NULL, 
    pmt_ref_id VARCHAR(20) NOT NULL, 
    updated_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_convenios PRIMARY KEY (ref_id)
);

GO

CREATE TABLE collection_references (
    ref_id VARCHAR(20) NOT NULL, 
    reference VARCHAR(40) NOT NULL, 
    full_name VARCHAR(120) NOT NULL, 
    amounts VARCHAR(max) NOT NULL, 
    due_date DATE NULL, 
    acct_id VARCHAR(30) NOT NULL, 
    updated_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_references PRIMARY KEY (ref_id, reference), 
    CONSTRAINT fk_collection_references_ref_id_collection_convenios FOREIGN KEY(ref_id) REFERENCES collection_convenios (ref_id)
);

GO

CREATE TABLE collection_checks (
    approval_id VARCHAR(20) NOT NULL, 
    client_id VARCHAR(64) NOT NULL, 
    tx_id VARCHAR(20) NOT NULL, 
    action VARCHAR(1) NOT NULL, 
    ref_id VARCHAR(20) NOT NULL, 
    reference VARCHAR(40) NOT NULL, 
    response VARCHAR(max) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_checks PRIMARY KEY (approval_id), 
    CONSTRAINT uq_collection_checks_client_id_tx_id UNIQUE (client_id, tx_id)
);

GO

UPDATE alembic_version SET version_num='0010' WHERE alembic_version.version_num = '0009';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0010 -> 0011

CREATE TABLE collection_agreement_lookups (
    id BIGINT NOT NULL IDENTITY, 
    client_id VARCHAR(64) NOT NULL, 
    acct_id VARCHAR(20) NULL, 
    ident_type VARCHAR(2) NULL, 
    ident_num VARCHAR(15) NULL, 
    found BIT NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_collection_agreement_lookups PRIMARY KEY (id)
);

GO

UPDATE alembic_version SET version_num='0011' WHERE alembic_version.version_num = '0010';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0011 -> 0012

CREATE TABLE lending_channels (
    channel VARCHAR(10) NOT NULL, 
    name VARCHAR(80) NOT NULL, 
    clabe VARCHAR(18) NOT NULL, 
    webhook_url VARCHAR(300) NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_channels PRIMARY KEY (channel)
);

GO

CREATE TABLE lending_credit_checks (
    id BIGINT NOT NULL IDENTITY, 
    purchase_id VARCHAR(36) NOT NULL, 
    step VARCHAR(20) NOT NULL, 
    approved BIT NOT NULL, 
    code VARCHAR(40) NOT NULL, 
    message VARCHAR(300) NOT NULL, 
    credit_limit NUMERIC(18, 2) NULL, 
    available NUMERIC(18, 2) NULL, 
    overdue NUMERIC(18, 2) NULL, 
    held NUMERIC(18, 2) NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_credit_checks PRIMARY KEY (id)
);

GO

CREATE INDEX ix_lending_credit_checks_purchase_id ON lending_credit_checks (purchase_id);

GO

CREATE TABLE lending_customers (
    customer_id VARCHAR(40) NOT NULL, 
    phone VARCHAR(20) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_customers PRIMARY KEY (customer_id)
);

GO

CREATE TABLE lending_events (
    id BIGINT NOT NULL IDENTITY, 
    purchase_id VARCHAR(36) NOT NULL, 
    from_state VARCHAR(24) NULL, 
    event VARCHAR(30) NOT NULL, 
    to_state VARCHAR(24) NULL, 
    detail VARCHAR(300) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_events PRIMARY KEY (id)
);

GO

CREATE INDEX ix_lending_events_purchase_id ON lending_events (purchase_id);

GO

CREATE TABLE lending_otps (
    id BIGINT NOT NULL IDENTITY, 
    purchase_id VARCHAR(36) NOT NULL, 
    purpose VARCHAR(10) NOT NULL, 
    code_hash VARCHAR(64) NOT NULL, 
    salt VARCHAR(32) NOT NULL, 
    expires_at DATETIMEOFFSET NOT NULL, 
    attempts INTEGER NOT NULL, 
    outcome VARCHAR(20) NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_otps PRIMARY KEY (id)
);

GO

CREATE INDEX ix_lending_otps_purchase_id_purpose ON lending_otps (purchase_id, purpose);

GO

CREATE TABLE lending_orders (
    id BIGINT NOT NULL IDENTITY, 
    channel VARCHAR(10) NOT NULL, 
    order_id VARCHAR(40) NOT NULL, 
    customer_id VARCHAR(40) NOT NULL, 
    amount NUMERIC(18, 2) NOT NULL, 
    concept VARCHAR(80) NOT NULL, 
    client_id VARCHAR(64) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_orders PRIMARY KEY (id), 
    CONSTRAINT fk_lending_orders_channel_lending_channels FOREIGN KEY(channel) REFERENCES lending_channels (channel), 
    CONSTRAINT fk_lending_orders_customer_id_lending_customers FOREIGN KEY(customer_id) REFERENCES lending_customers (customer_id), 
    CONSTRAINT uq_lending_orders_channel_order_id UNIQUE (channel, order_id)
);

GO

CREATE TABLE lending_purchases (
    id VARCHAR(36) NOT NULL, 
    order_ref BIGINT NOT NULL, 
    channel VARCHAR(10) NOT NULL, 
    customer_id VARCHAR(40) NOT NULL, 
    amount NUMERIC(18, 2) NOT NULL, 
    amount_cents BIGINT NOT NULL, 
    concept VARCHAR(80) NOT NULL, 
    operation VARCHAR(30) NOT NULL, 
    clabe VARCHAR(18) NOT NULL, 
    state VARCHAR(24) NOT NULL, 
    valid_until DATETIMEOFFSET NULL, 
    payload VARCHAR(max) NULL, 
    reason VARCHAR(300) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    updated_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_purchases PRIMARY KEY (id), 
    CONSTRAINT fk_lending_purchases_order_ref_lending_orders FOREIGN KEY(order_ref) REFERENCES lending_orders (id)
);

GO

CREATE INDEX ix_lending_purchases_customer_id_state ON lending_purchases (customer_id, state);

GO

CREATE INDEX ix_lending_purchases_state_valid_until ON lending_purchases (state, valid_until);

GO

UPDATE alembic_version SET version_num='0012' WHERE alembic_version.version_num = '0011';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0012 -> 0013

CREATE TABLE lending_disbursement_files (
    id BIGINT NOT NULL IDENTITY, 
    file_name VARCHAR(40) NOT NULL, 
    kind VARCHAR(1) NOT NULL, 
    records INTEGER NOT NULL, 
    total_cents BIGINT NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    uploaded_at DATETIMEOFFSET NULL, 
    CONSTRAINT pk_lending_disbursement_files PRIMARY KEY (id), 
    CONSTRAINT uq_lending_disbursement_files_file_name UNIQUE (file_name)
);

GO

CREATE TABLE lending_dispatches (
    id BIGINT NOT NULL IDENTITY, 
    purchase_id VARCHAR(36) NOT NULL, 
    attempt INTEGER NOT NULL, 
    file_id BIGINT NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_dispatches PRIMARY KEY (id), 
    CONSTRAINT uq_lending_dispatches_purchase_id_attempt UNIQUE (purchase_id, attempt)
);

GO

CREATE INDEX ix_lending_dispatches_file_id ON lending_dispatches (file_id);

GO

UPDATE alembic_version SET version_num='0013' WHERE alembic_version.version_num = '0012';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0013 -> 0014

CREATE TABLE lending_response_files (
    id BIGINT NOT NULL IDENTITY, 
    file_name VARCHAR(120) NOT NULL, 
    sha256 VARCHAR(64) NOT NULL, 
    lines INTEGER NOT NULL, 
    disbursed INTEGER NOT NULL, 
    retried INTEGER NOT NULL, 
    failed INTEGER NOT NULL, 
    malformed INTEGER NOT NULL, 
    unknown INTEGER NOT NULL, 
    duplicates INTEGER NOT NULL, 
    retry_file_id BIGINT NULL, 
    processed_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_response_files PRIMARY KEY (id), 
    CONSTRAINT uq_lending_response_files_sha256 UNIQUE (sha256)
);

GO

CREATE TABLE lending_response_lines (
    id BIGINT NOT NULL IDENTITY, 
    file_id BIGINT NOT NULL, 
    line_no INTEGER NOT NULL, 
    purchase_id VARCHAR(36) NULL, 
    attempt INTEGER NULL, 
    status VARCHAR(1) NULL, 
    reason_code VARCHAR(2) NULL, 
    tracking_key VARCHAR(30) NULL, 
    outcome VARCHAR(12) NOT NULL, 
    detail VARCHAR(300) NOT NULL, 
    CONSTRAINT pk_lending_response_lines PRIMARY KEY (id)
);

GO

CREATE INDEX ix_lending_response_lines_file_id_outcome ON lending_response_lines (file_id, outcome);

GO

CREATE INDEX ix_lending_response_lines_purchase_id_attempt ON lending_response_lines (purchase_id, attempt);

GO

CREATE TABLE lending_webhooks (
    event_id VARCHAR(64) NOT NULL, 
    channel VARCHAR(10) NOT NULL, 
    purchase_id VARCHAR(36) NOT NULL, 
    outcome VARCHAR(12) NOT NULL, 
    attempt INTEGER NOT NULL, 
    reason_code VARCHAR(2) NULL, 
    tracking_key VARCHAR(30) NULL, 
    occurred_at DATETIMEOFFSET NOT NULL, 
    state VARCHAR(10) NOT NULL, 
    attempts INTEGER NOT NULL, 
    next_attempt_at DATETIMEOFFSET NOT NULL, 
    last_status INTEGER NULL, 
    last_error VARCHAR(300) NULL, 
    body VARCHAR(max) NULL, 
    delivered_at DATETIMEOFFSET NULL, 
    queued_at DATETIMEOFFSET NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_webhooks PRIMARY KEY (event_id)
);

GO

CREATE INDEX ix_lending_webhooks_state_next_attempt_at ON lending_webhooks (state, next_attempt_at);

GO

CREATE TABLE run_locks (
    name VARCHAR(40) NOT NULL, 
    CONSTRAINT pk_run_locks PRIMARY KEY (name)
);

GO

SET IDENTITY_INSERT run_locks ON;

GO

INSERT INTO run_locks (name) VALUES ('disbursement_dispatch');

GO

INSERT INTO run_locks (name) VALUES ('disbursement_responses');

GO

SET IDENTITY_INSERT run_locks OFF;

GO

ALTER TABLE lending_channels ADD webhook_secret_version INTEGER NOT NULL DEFAULT '1';

GO

ALTER TABLE lending_dispatches ADD result VARCHAR(1) NULL;

GO

ALTER TABLE lending_dispatches ADD reason_code VARCHAR(2) NULL;

GO

ALTER TABLE lending_dispatches ADD tracking_key VARCHAR(30) NULL;

GO

ALTER TABLE lending_dispatches ADD response_line_id BIGINT NULL;

GO

ALTER TABLE lending_dispatches ADD responded_at DATETIMEOFFSET NULL;

GO

ALTER TABLE lending_purchases ADD retries INTEGER NOT NULL DEFAULT '0';

GO

ALTER TABLE lending_purchases ADD retried_at DATETIMEOFFSET NULL;

GO

UPDATE alembic_version SET version_num='0014' WHERE alembic_version.version_num = '0013';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0014 -> 0015

ALTER TABLE api_clients ADD channel_codes VARCHAR(255) NULL;

GO

UPDATE alembic_version SET version_num='0015' WHERE alembic_version.version_num = '0014';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0015 -> 0016

CREATE TABLE lending_drawdowns (
    purchase_id VARCHAR(36) NOT NULL, 
    customer_id VARCHAR(40) NOT NULL, 
    amount NUMERIC(18, 2) NOT NULL, 
    state VARCHAR(10) NOT NULL, 
    attempts INTEGER NOT NULL, 
    next_attempt_at DATETIMEOFFSET NOT NULL, 
    last_error VARCHAR(300) NULL, 
    mambu_transaction_id VARCHAR(64) NULL, 
    booked_at DATETIMEOFFSET NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    CONSTRAINT pk_lending_drawdowns PRIMARY KEY (purchase_id), 
    CONSTRAINT fk_lending_drawdowns_purchase_id_lending_purchases FOREIGN KEY(purchase_id) REFERENCES lending_purchases (id)
);

GO

CREATE INDEX ix_lending_drawdowns_customer_id_booked_at ON lending_drawdowns (customer_id, booked_at);

GO

CREATE INDEX ix_lending_drawdowns_state_next_attempt_at ON lending_drawdowns (state, next_attempt_at);

GO

INSERT INTO lending_drawdowns (purchase_id, customer_id, amount, state, attempts, next_attempt_at, created_at) SELECT id, customer_id, amount, 'PENDING', 0, updated_at, updated_at FROM lending_purchases WHERE state = 'DISBURSED';

GO

UPDATE alembic_version SET version_num='0016' WHERE alembic_version.version_num = '0015';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0016 -> 0017

ALTER TABLE api_clients ADD credential_version INTEGER NOT NULL DEFAULT '1';

GO

ALTER TABLE api_clients ADD failed_attempts INTEGER NOT NULL DEFAULT '0';

GO

ALTER TABLE api_clients ADD locked_until DATETIMEOFFSET NULL;

GO

UPDATE alembic_version SET version_num='0017' WHERE alembic_version.version_num = '0016';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0017 -> 0018

CREATE TABLE auth_source_failures (
    source VARCHAR(64) NOT NULL, 
    window_start DATETIMEOFFSET NOT NULL, 
    failures INTEGER NOT NULL, 
    CONSTRAINT pk_auth_source_failures PRIMARY KEY (source)
);

GO

CREATE INDEX ix_auth_source_failures_window_start ON auth_source_failures (window_start);

GO

UPDATE alembic_version SET version_num='0018' WHERE alembic_version.version_num = '0017';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0018 -> 0019

ALTER TABLE collection_checks ADD request_hash VARCHAR(64) NULL;

GO

UPDATE alembic_version SET version_num='0019' WHERE alembic_version.version_num = '0018';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0019 -> 0020

ALTER TABLE negotiation_marks ADD request_hash VARCHAR(64) NULL;

GO

CREATE INDEX ix_negotiation_marks_retry ON negotiation_marks (client_id, acct_id, request_hash);

GO

UPDATE alembic_version SET version_num='0020' WHERE alembic_version.version_num = '0019';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0020 -> 0021

ALTER TABLE api_operations ALTER COLUMN response NVARCHAR(max) NOT NULL;

GO

ALTER TABLE collection_agreements ALTER COLUMN acct_type NVARCHAR(60) NOT NULL;

GO

ALTER TABLE collection_agreements ALTER COLUMN document NVARCHAR(max) NOT NULL;

GO

ALTER TABLE collection_checks ALTER COLUMN response NVARCHAR(max) NOT NULL;

GO

ALTER TABLE collection_convenios ALTER COLUMN name NVARCHAR(80) NOT NULL;

GO

ALTER TABLE collection_policy_decisions ALTER COLUMN response NVARCHAR(max) NOT NULL;

GO

ALTER TABLE collection_profiles ALTER COLUMN request NVARCHAR(max) NOT NULL;

GO

ALTER TABLE collection_references ALTER COLUMN full_name NVARCHAR(120) NOT NULL;

GO

ALTER TABLE collection_references ALTER COLUMN amounts NVARCHAR(max) NOT NULL;

GO

ALTER TABLE companies ALTER COLUMN name NVARCHAR(120) NOT NULL;

GO

ALTER TABLE debt_file_errors ALTER COLUMN reason NVARCHAR(255) NOT NULL;

GO

ALTER TABLE debt_file_errors ALTER COLUMN raw_line NVARCHAR(1024) NOT NULL;

GO

ALTER TABLE debts ALTER COLUMN client_name NVARCHAR(30) NOT NULL;

GO

ALTER TABLE debts ALTER COLUMN description NVARCHAR(20) NOT NULL;

GO

ALTER TABLE lending_channels ALTER COLUMN name NVARCHAR(80) NOT NULL;

GO

ALTER TABLE lending_credit_checks ALTER COLUMN message NVARCHAR(300) NOT NULL;

GO

ALTER TABLE lending_events ALTER COLUMN detail NVARCHAR(300) NOT NULL;

GO

ALTER TABLE lending_orders ALTER COLUMN concept NVARCHAR(80) NOT NULL;

GO

ALTER TABLE lending_purchases ALTER COLUMN concept NVARCHAR(80) NOT NULL;

GO

ALTER TABLE lending_purchases ALTER COLUMN payload NVARCHAR(max) NULL;

GO

ALTER TABLE lending_purchases ALTER COLUMN reason NVARCHAR(300) NOT NULL;

GO

ALTER TABLE lending_response_lines ALTER COLUMN detail NVARCHAR(300) NOT NULL;

GO

ALTER TABLE lending_webhooks ALTER COLUMN last_error NVARCHAR(300) NULL;

GO

ALTER TABLE lending_webhooks ALTER COLUMN body NVARCHAR(max) NULL;

GO

ALTER TABLE negotiation_marks ALTER COLUMN reason NVARCHAR(200) NOT NULL;

GO

ALTER TABLE negotiation_marks ALTER COLUMN request NVARCHAR(max) NOT NULL;

GO

ALTER TABLE payments ALTER COLUMN client_name NVARCHAR(30) NOT NULL;

GO

UPDATE alembic_version SET version_num='0021' WHERE alembic_version.version_num = '0020';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0021 -> 0022

ALTER TABLE companies ADD deactivated_at DATETIMEOFFSET NULL;

GO

UPDATE alembic_version SET version_num='0022' WHERE alembic_version.version_num = '0021';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0022 -> 0023

ALTER TABLE payments ADD txn_date DATE NULL;

GO

ALTER TABLE api_operations ADD txn_date DATE NULL;

GO

UPDATE payments SET txn_date = CAST(SWITCHOFFSET(txn_at, '-05:00') AS DATE);

GO

UPDATE api_operations SET txn_date = (SELECT p.txn_date FROM payments p WHERE p.bank_code = api_operations.bank_code AND p.operation_number = api_operations.operation_number);

GO

UPDATE api_operations SET txn_date = CAST(SWITCHOFFSET(created_at, '-05:00') AS DATE) WHERE txn_date IS NULL;

GO

ALTER TABLE payments ALTER COLUMN txn_date DATE NOT NULL;

GO

ALTER TABLE payments DROP CONSTRAINT uq_payments_bank_code_operation_number;

GO

ALTER TABLE payments ADD CONSTRAINT uq_payments_bank_code_operation_number_txn_date UNIQUE (bank_code, operation_number, txn_date);

GO

ALTER TABLE api_operations DROP CONSTRAINT pk_api_operations;

GO

ALTER TABLE api_operations ALTER COLUMN txn_date DATE NOT NULL;

GO

ALTER TABLE api_operations ADD CONSTRAINT pk_api_operations PRIMARY KEY (bank_code, operation_number, txn_date, operation);

GO

UPDATE alembic_version SET version_num='0023' WHERE alembic_version.version_num = '0022';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0023 -> 0024

ALTER TABLE payment_files ADD taken_at DATETIMEOFFSET NULL;

GO

ALTER TABLE payments ADD stated_cents BIGINT NULL;

GO

UPDATE alembic_version SET version_num='0024' WHERE alembic_version.version_num = '0023';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0024 -> 0025

ALTER TABLE lending_disbursement_files ADD publishing_at DATETIMEOFFSET NULL;

GO

ALTER TABLE lending_disbursement_files ADD parked_at DATETIMEOFFSET NULL;

GO

UPDATE lending_disbursement_files SET publishing_at=coalesce(lending_disbursement_files.uploaded_at, lending_disbursement_files.created_at);

GO

CREATE TABLE lending_alerts (
    id BIGINT NOT NULL IDENTITY, 
    subject VARCHAR(80) NOT NULL, 
    kind VARCHAR(24) NOT NULL, 
    purchase_id VARCHAR(36) NULL, 
    file_name VARCHAR(120) NULL, 
    response_line_id BIGINT NULL, 
    detail NVARCHAR(600) NOT NULL, 
    created_at DATETIMEOFFSET NOT NULL, 
    resolved_at DATETIMEOFFSET NULL, 
    resolution NVARCHAR(300) NULL, 
    CONSTRAINT pk_lending_alerts PRIMARY KEY (id), 
    CONSTRAINT uq_lending_alerts_subject UNIQUE (subject)
);

GO

CREATE INDEX ix_lending_alerts_resolved_at ON lending_alerts (resolved_at);

GO

UPDATE alembic_version SET version_num='0025' WHERE alembic_version.version_num = '0024';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0025 -> 0026

ALTER TABLE lending_purchases ADD expires_at DATETIMEOFFSET NULL;

GO

ALTER TABLE lending_otps ADD wrong INTEGER NOT NULL DEFAULT '0';

GO

UPDATE lending_purchases SET expires_at = valid_until WHERE state IN ('QR_PENDING', 'PENDING_OTP2');

GO

UPDATE lending_purchases SET expires_at = (SELECT max(o.expires_at) FROM lending_otps o WHERE o.purchase_id = lending_purchases.id AND o.purpose = 'otp1') WHERE state = 'PENDING_OTP1';

GO

UPDATE lending_purchases SET expires_at = updated_at WHERE expires_at IS NULL AND state IN ('PENDING_CREDIT', 'PENDING_OTP1', 'QR_PENDING', 'PENDING_OTP2', 'VALIDATING');

GO

UPDATE lending_otps SET wrong = CASE WHEN outcome = 'wrong' THEN attempts WHEN attempts > 0 THEN attempts - 1 ELSE 0 END;

GO

CREATE INDEX ix_lending_purchases_state_expires_at ON lending_purchases (state, expires_at);

GO

CREATE INDEX ix_lending_purchases_order_ref ON lending_purchases (order_ref);

GO

UPDATE alembic_version SET version_num='0026' WHERE alembic_version.version_num = '0025';

GO

COMMIT;

GO

BEGIN TRANSACTION;

-- Running upgrade 0026 -> 0027

ALTER TABLE lending_channels ADD webhook_previous_version INTEGER NULL;

GO

ALTER TABLE lending_channels ADD webhook_previous_until DATETIMEOFFSET NULL;

GO

UPDATE alembic_version SET version_num='0027' WHERE alembic_version.version_num = '0026';

GO

COMMIT;

GO

