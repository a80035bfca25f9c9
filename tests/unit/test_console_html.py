"""The console's HTML builders: every value escaped wherever it lands (text, attribute, chart
label), charts that are well-formed SVG for any counts, and a stylesheet the CSP names."""

from __future__ import annotations

import base64
import hashlib
import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from blueprints import console_pages as pages
from blueprints.console_html import CSP, STYLE, action, bar_chart, page, table, tag
from usecases.console_day import CompanyDay, DayFile, RejectedLine, day_bounds
from usecases.reports import DebtFileRow, PaymentFileRow

HOSTILE = '<script>alert("x")</script>\'"&'
printable = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


def test_a_hostile_rejected_line_is_shown_as_text() -> None:
    row = DebtFileRow(731, "D0073103122026001.TXT", "PROCESADO", "R", 3, 2, 1, 100, 0, datetime(2026, 12, 3, tzinfo=UTC))
    company = CompanyDay(731, HOSTILE, [DayFile(row, [RejectedLine(2, "nombre_cliente", HOSTILE, HOSTILE)])])
    html = page("Billers", pages.billers(date(2026, 12, 3), [company], "/api/console"), base="/api/console",
                csrf="c" * 64, who=HOSTILE)  # fmt: skip
    assert "<script>" not in html and html.count("&lt;script&gt;") == 4  # name, reason, raw line, who


def test_each_payment_file_says_whether_its_biller_took_it() -> None:
    """Taken (and when), still waiting (and until when its payments count against a reload),
    settled by contract, or not written yet; and the files still in Pagos/ from other days."""
    at = datetime(2026, 12, 3, 15, tzinfo=UTC)  # 10:00 in Lima
    files = [PaymentFileRow(731, "P0073103122026001.TXT", 2, 100, 0, at, at + timedelta(hours=2)),
             PaymentFileRow(731, "P0073103122026002.TXT", 1, 50, 0, at + timedelta(hours=1)),
             PaymentFileRow(731, "P0073103122026003.TXT", 1, 50, 0, None)]  # fmt: skip
    company = CompanyDay(731, "AGUA", payment_files=files, untaken=[("P0073101122026004.TXT", at - timedelta(days=2))])
    html = pages.billers(date(2026, 12, 3), [company], "/api/console", settlement=timedelta(hours=72),
                         now=at + timedelta(hours=3))  # fmt: skip
    assert "taken, seen 2026-12-03 12:00" in html
    assert "not yet: counts against reloads until taken or 2026-12-06 11:00" in html
    assert "1 payment file(s) still in 00731/Pagos/, the oldest P0073101122026004.TXT written 2026-12-01 10:00" in html
    settled = pages.billers(date(2026, 12, 3), [company], "/api/console", settlement=timedelta(hours=1),
                            now=at + timedelta(hours=3))  # fmt: skip
    assert "not taken; applied by contract since 2026-12-03 12:00" in settled
    only_taken = pages.billers(date(2026, 12, 3), [company], "/api/console", settlement=timedelta(0), now=at)
    assert "not yet: counts against reloads until taken<" in only_taken


@given(label=printable, url=printable, csrf=printable)
def test_attributes_and_text_are_escaped(label: str, url: str, csrf: str) -> None:
    """Whatever the values, the markup has the same elements and attributes: none injected."""
    html = action(url, label, csrf) + table([label], [[label]])
    plain = action("u", "l", "c") + table(["h"], [["c"]])
    shape = re.compile(r'<(/?\w+)|\s([\w-]+)="')
    assert shape.findall(html) == shape.findall(plain)
    assert "<" not in re.sub(r"<(/?\w+)[^<>]*>", "", html)


@given(counts=st.lists(st.integers(0, 10**9), min_size=1, max_size=30), labels=st.lists(printable, min_size=30))
def test_a_chart_is_well_formed_svg_for_any_counts(counts: list[int], labels: list[str]) -> None:
    svg = bar_chart(HOSTILE, labels[: len(counts)], [("a", counts), ("b", list(reversed(counts)))])
    root = ET.fromstring(f"<div>{svg}</div>")
    drawn = root.find("div/{http://www.w3.org/2000/svg}svg")
    assert drawn is not None and drawn.attrib["aria-label"] == HOSTILE
    heights = [float(r.attrib["height"]) for r in drawn.iter("{http://www.w3.org/2000/svg}rect")]
    assert len(heights) == 2 * len(counts) and all(0 <= h <= 180 for h in heights)


def test_the_stylesheet_is_the_one_the_policy_names() -> None:
    digest = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in CSP and "script-src" not in CSP and "default-src 'none'" in CSP
    html = page("x", tag("p", "y"), base="/api/console")
    assert f"<style>{STYLE}</style>" in html and "style=" not in html.replace("<style>", "")


def test_lima_days_run_from_five_to_five_utc() -> None:
    start, end = day_bounds(date(2026, 12, 3))
    assert (start, end) == (datetime(2026, 12, 3, 5, tzinfo=UTC), datetime(2026, 12, 4, 5, tzinfo=UTC))
