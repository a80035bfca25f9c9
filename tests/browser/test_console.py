"""The operations console in a real headless Chromium (Debian's chromium + chromium-driver through
selenium), against the local host serving a seeded demo day: sign in, see the day's data on
every page, replay a failed webhook, requeue a poison message, sign out. A screenshot of each
page is kept in test-artifacts/console/."""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

import bootstrap
from domain.lending.webhooks import channel_secret
from fakes.webhook_receiver import FakeReceiver
from local_host.asgi import create_app
from sql.tables import lending_channels
from tests.conftest import ROOT, serve_in_thread
from usecases.companies import DEMO_CLIENT_SECRET, DEMO_OPERATOR_ID, DEMO_OPERATOR_SECRET, seed_demo
from usecases.lending import seed_lending_demo

ARTIFACTS = ROOT / "test-artifacts" / "console"
WEBHOOK_KEY = "w" * 40


def _driver_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        message = "Chromium is missing: apt-get install chromium chromium-driver (make test installs them as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return browser, driver


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    binary, driver = _driver_paths()
    options = Options()
    options.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1300,1400",
    ):
        options.add_argument(arg)
    chrome = webdriver.Chrome(options=options, service=Service(executable_path=driver))
    chrome.set_page_load_timeout(60)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture
def demo_day(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, FakeReceiver]]:
    """The demo day seeded as `make run` does (webhooks at an address nobody answers, so they
    fail), then the local host and a webhook receiver; the console's base URL and the receiver."""
    from fakes.demo_day import seed_day

    monkeypatch.setenv("LENDING_WEBHOOK_KEY", WEBHOOK_KEY)
    monkeypatch.setenv("SMS_OUTBOX_PATH", str(app_env / "sms.jsonl"))
    bootstrap.reset()
    now = bootstrap.utc_now()
    seed_demo(bootstrap.unit_of_work, now)
    seed_lending_demo(bootstrap.engine(), now, "http://127.0.0.1:9")
    seed_day(DEMO_CLIENT_SECRET)
    secrets = {c: channel_secret(WEBHOOK_KEY.encode(), c, 1) for c in ("KOF", "PRONTO")}
    receiver = FakeReceiver(secrets)
    with serve_in_thread(receiver) as hooks, serve_in_thread(create_app()) as url:
        with bootstrap.engine().begin() as conn:  # the operator fixes the channels' address
            for channel in secrets:
                conn.execute(sa.update(lending_channels).where(lending_channels.c.channel == channel)
                             .values(webhook_url=f"{hooks}/hooks/{channel}"))  # fmt: skip
        yield f"{url}/api/console", receiver


def shot(chrome: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    height = chrome.execute_script("return document.documentElement.scrollHeight")  # type: ignore[attr-defined]
    chrome.set_window_size(1300, max(min(int(height) + 40, 6000), 600))  # type: ignore[attr-defined]
    chrome.save_screenshot(str(ARTIFACTS / f"{name}.png"))  # type: ignore[attr-defined]


def text_of(chrome: object) -> str:
    from selenium.webdriver.common.by import By

    return chrome.find_element(By.TAG_NAME, "main").text  # type: ignore[attr-defined]


def follow(chrome: object, element: object) -> None:
    """Click a link or a button and wait for the page it leads to (a click does not wait)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    old = chrome.find_element(By.TAG_NAME, "html")  # type: ignore[attr-defined]
    element.click()  # type: ignore[attr-defined]
    wait = WebDriverWait(chrome, 30)
    wait.until(expected_conditions.staleness_of(old))
    wait.until(lambda d: d.execute_script("return document.readyState") == "complete")


def sign_in(chrome: object, base: str, client_id: str, secret: str) -> None:
    from selenium.webdriver.common.by import By

    chrome.get(base)  # type: ignore[attr-defined]
    assert chrome.current_url.endswith("/api/console/login")  # type: ignore[attr-defined]
    chrome.find_element(By.ID, "client_id").send_keys(client_id)  # type: ignore[attr-defined]
    chrome.find_element(By.ID, "client_secret").send_keys(secret)  # type: ignore[attr-defined]
    follow(chrome, chrome.find_element(By.CSS_SELECTOR, "form.login button"))  # type: ignore[attr-defined]


def test_an_operator_sees_the_day_and_replays_a_webhook(browser: object, demo_day: tuple[str, FakeReceiver]) -> None:
    from selenium.webdriver.common.by import By

    base, receiver = demo_day
    chrome = browser
    queue = bootstrap.get_settings().debt_queue
    poison = bootstrap.work_queues().client(f"{queue}-poison")
    poison.send_message(base64.b64encode(b'{"company": 731, "file": "D0073101012026009.TXT"}').decode())

    sign_in(chrome, base, DEMO_OPERATOR_ID, "not-the-secret-at-all")
    assert "unknown client or wrong secret" in text_of(chrome)
    shot(chrome, "01-login-refused")
    chrome.find_element(By.ID, "client_secret").send_keys(DEMO_OPERATOR_SECRET)  # type: ignore[attr-defined]
    follow(chrome, chrome.find_element(By.CSS_SELECTOR, "form.login button"))  # type: ignore[attr-defined]
    assert chrome.current_url.rstrip("/").endswith("/api/console")  # type: ignore[attr-defined]
    overview = text_of(chrome)
    assert "2\ndebt files today" in overview and "2\ndebt lines rejected" in overview
    assert "3\nfailed webhooks" in overview and "1\npoison messages" in overview
    assert "1\ndispersions waiting for the bank" in overview and "2\nrecords waiting for a payment file" in overview
    assert "2 folder(s) or file(s) on the exchange the loader will not read" in overview
    assert "Pagos and reversas per hour" in chrome.page_source  # type: ignore[attr-defined]
    for dependency in ("database", "logs", "exchange", "queues"):
        row = chrome.find_element(By.XPATH, f"//td[text()='{dependency}']/..").text  # type: ignore[attr-defined]
        assert " ok " in f" {row} ", row
    shot(chrome, "02-overview")

    follow(chrome, chrome.find_element(By.LINK_TEXT, "Billers"))  # type: ignore[attr-defined]
    billers = text_of(chrome)
    assert "00730 EMPRESA DEMO SAC" in billers and "00731 AGUA DEL VALLE SAC" in billers
    assert "caracter no permitido '#'" in billers and "formato invalido" in billers  # the rejected lines, as read
    assert "2 payment(s) and reversal(s) waiting for the next payment file" in billers
    assert "00731/Deudas/Pending/deudas-diciembre.xlsx not a .TXT file" in billers
    assert "00732 no company 732 is registered here" in billers
    assert "Set aside in Rejected/ this day" in billers and "ya fue procesado" in billers
    shot(chrome, "03-billers")

    follow(chrome, chrome.find_element(By.LINK_TEXT, "YAPAGO"))  # type: ignore[attr-defined]
    rows = {r.text.split(" ")[0]: r.text for r in chrome.find_elements(By.CSS_SELECTOR, "table tr")}  # type: ignore[attr-defined]
    assert {"00", "11", "20", "30", "32"} <= set(rows), rows
    assert rows["32"].startswith("32 Deuda ya pagada 0 1 0 1")
    shot(chrome, "04-yapago")

    follow(chrome, chrome.find_element(By.LINK_TEXT, "Lending"))  # type: ignore[attr-defined]
    lending = text_of(chrome)
    assert "DISBURSING 1" in lending and "DISBURSED 2" in lending and "DISBURSEMENT_FAILED 1" in lending
    shot(chrome, "05-lending")
    first = chrome.find_element(By.XPATH, "//h2[text()='Failed webhooks']/following-sibling::table[1]//tr[2]")  # type: ignore[attr-defined]
    event_id = first.find_element(By.TAG_NAME, "td").text
    follow(chrome, first.find_element(By.TAG_NAME, "button"))
    flash = chrome.find_element(By.CSS_SELECTOR, "p.flash").text  # type: ignore[attr-defined]
    assert flash.startswith(f"Webhook {event_id} replayed: now DELIVERED after 2 tries"), flash
    assert [(e["eventId"], e["valid"], e["answered"]) for e in receiver.received] == [(event_id, True, 200)]
    assert len(chrome.find_elements(By.XPATH, "//h2[text()='Failed webhooks']/following-sibling::table[1]//tr")) == 3  # type: ignore[attr-defined]
    shot(chrome, "06-lending-replayed")

    follow(chrome, chrome.find_element(By.LINK_TEXT, "Queues"))  # type: ignore[attr-defined]
    assert "D0073101012026009.TXT" in text_of(chrome)
    shot(chrome, "07-queues")
    follow(chrome, chrome.find_element(By.XPATH, f"//button[text()='Requeue all to {queue}']"))  # type: ignore[attr-defined]
    assert f"1 message(s) moved from {queue}-poison back to {queue}" in text_of(chrome)
    assert bootstrap.work_queues().client(queue).peek_messages(max_messages=5)

    follow(chrome, chrome.find_element(By.CSS_SELECTOR, "header form button"))  # type: ignore[attr-defined]
    assert chrome.current_url.endswith("/api/console/login")  # type: ignore[attr-defined]
    chrome.get(base)  # type: ignore[attr-defined]
    assert chrome.current_url.endswith("/api/console/login")  # type: ignore[attr-defined]
