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

