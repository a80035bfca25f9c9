"""Operator data: companies, their services and collection accounts, and the demo set."""

from __future__ import annotations

from datetime import datetime

from domain.companies import Company, build_company
from usecases.clients import ClientSaved, UowFactory, register_client

DEMO_COMPANY_CODE = 730
DEMO_COMPANY_NAME = "EMPRESA DEMO SAC"
DEMO_SERVICES = ["001:completa:PEN", "002:completa:USD", "003:parcial:PEN", "004:parcial:USD"]
DEMO_BANK = "1020"
DEMO_ACCOUNTS = [
    f"{code}:{DEMO_BANK}:191-0730{code}-0-{idx:02d}" for idx, code in enumerate(("001", "002", "003", "004"), 1)
]
DEMO_CLIENT_ID = "demo-client"
DEMO_CLIENT_SECRET = "demo-secret-0730-change-me"
ALL_SCOPES = "yapago,lending,merchant,collections"
DEMO_OPERATOR_ID = "demo-operator"  # the operations console's demo sign-in (scope operator only)
DEMO_OPERATOR_SECRET = "demo-operator-0730-change-me"
DEMO_CHANNELS = "KOF,PRONTO"  # the demo client may act as either distributor (usecases/lending.seed_lending_demo)


def save_company(uow: UowFactory, company: Company, now: datetime) -> bool:
    with uow() as tx:
        created = tx.companies.save(company, now)
        tx.commit()
    return created


def create_company(
    uow: UowFactory, code: str, name: str, services: list[str], accounts: list[str], now: datetime
) -> tuple[Company, bool]:
    company = build_company(code, name, services, accounts)
    return company, save_company(uow, company, now)


def seed_demo(uow: UowFactory, now: datetime, client_secret: str = DEMO_CLIENT_SECRET,
              operator_secret: str = DEMO_OPERATOR_SECRET) -> tuple[Company, ClientSaved]:  # fmt: skip
    """Company 730 with services 001-004 and bank 1020 accounts, a client with every API scope,
    and an operator for the console (apart: a console session never carries an API scope).

    Safe to run any number of times: the same rows result.
    """
    company, _ = create_company(uow, str(DEMO_COMPANY_CODE), DEMO_COMPANY_NAME, DEMO_SERVICES, DEMO_ACCOUNTS, now)
    client = register_client(uow, DEMO_CLIENT_ID, client_secret, ALL_SCOPES, now, channels=DEMO_CHANNELS)
    register_client(uow, DEMO_OPERATOR_ID, operator_secret, "operator", now)
    return company, client


def set_company_active(uow: UowFactory, code: int, active: bool, now: datetime) -> bool:
    """Deactivate a company (its debts are no longer offered, its files no longer loaded; its
    payments can still be reversed and still reach it in payment files) or activate it again."""
    with uow() as tx:
        found = tx.companies.set_active(code, active, now)
        tx.commit()
    return found
