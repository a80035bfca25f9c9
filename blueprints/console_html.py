"""The console's HTML: a page frame, tables, tiles and SVG bar charts, with every value escaped.

No template engine and no script: pages are built from these few functions, styled by one
stylesheet whose hash the Content-Security-Policy names (no inline style attribute, no
JavaScript, nothing loaded from elsewhere), so an injected value can neither run nor restyle."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#12324f;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap}
header a{color:#cfe3ff;text-decoration:none}header a.here{color:#fff;font-weight:600}
header form{margin-left:auto}header button{background:none;border:1px solid #cfe3ff;color:#cfe3ff}
main{padding:1rem 1.2rem;max-width:84rem}
h1{font-size:1.3rem;margin:.2rem 0 1rem}h2{font-size:1.05rem;margin:1.4rem 0 .5rem}
h3{font-size:.95rem;margin:1rem 0 .4rem}
table{border-collapse:collapse;background:#fff;margin:.3rem 0 .8rem;font-size:.88rem}
th,td{border:1px solid #d8dde3;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#eef1f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.8rem}
pre{white-space:pre;overflow-x:auto;margin:0}
.tiles{display:flex;flex-wrap:wrap;gap:.7rem;margin-bottom:.6rem}
.tile{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.6rem .9rem;min-width:9rem}
.tile b{display:block;font-size:1.5rem}.tile span{color:#56616d;font-size:.82rem}
.ok{color:#17692e;font-weight:600}.down,.timeout,.bad{color:#a4161a;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.note{color:#56616d;font-size:.85rem}.flash{background:#e7f5ea;border:1px solid #9fd3ad;padding:.5rem .8rem}
.error{background:#fbe9ea;border:1px solid #e3a3a6;padding:.5rem .8rem}
form.inline{display:inline}button{cursor:pointer;padding:.2rem .7rem}
.login{max-width:22rem;margin:4rem auto;background:#fff;border:1px solid #d8dde3;padding:1.2rem 1.5rem}
.login label{display:block;margin:.6rem 0 .2rem}.login input{width:100%;box-sizing:border-box;padding:.35rem}
.login button{margin-top:1rem;padding:.4rem 1.2rem}
.rejected td:nth-child(3){min-width:18rem}.rejected pre{max-width:52rem;overflow-x:auto}
svg text{font-size:10px;fill:#3c4650}svg .bar{fill:#2f6fae}svg .bar2{fill:#d98c1f}
"""
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CSP = (f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")  # fmt: skip

NAV = (("", "Overview"), ("billers", "Billers"), ("yapago", "YAPAGO"), ("lending", "Lending"), ("queues", "Queues"))


class Html(str):
    """Markup already escaped: passed through as it is by the functions below."""


def text(value: Any) -> Html:
    return value if isinstance(value, Html) else Html(escape("" if value is None else str(value)))


def join(parts: Iterable[Any]) -> Html:
    return Html("".join(text(p) for p in parts))


def tag(name: str, content: Any = "", **attrs: Any) -> Html:
    """`<name attrs>content</name>`; `class_` for class; a None attribute is left out."""
    rendered = "".join(f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items()
                       if v is not None)  # fmt: skip
    return Html(f"<{name}{rendered}>{text(content)}</{name}>")


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[int] = (),
          empty: str = "nothing", class_: str | None = None) -> Html:  # fmt: skip
    """A table; the columns in `numeric` align right; `empty` is said when there is no row."""
    body = [tag("tr", join(tag("td", cell, class_="n" if i in numeric else None) for i, cell in enumerate(row)))
            for row in rows]  # fmt: skip
    if not body:
        return tag("p", empty, class_="note")
    head = tag("tr", join(tag("th", h) for h in headers))
    return tag("table", join([head, *body]), class_=class_)


def tiles(items: Iterable[tuple[Any, str]]) -> Html:
    return tag("div", join(tag("div", join([tag("b", value), tag("span", label)]), class_="tile")
                           for value, label in items), class_="tiles")  # fmt: skip


def status(value: str) -> Html:
    return tag("span", value, class_=value if value in ("ok", "down", "timeout") else "warn")


def bar_chart(title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
              width: int = 720, height: int = 180) -> Html:  # fmt: skip
    """Grouped bars, one group per label, one bar per series (at most two), with the counts
    written over the bars; an accessible title and a legend."""
    top = max((v for _, values in series for v in values), default=0) or 1
    left, bottom, gap = 30, 20, 4
    plot_h = height - bottom - 16
    slot = (width - left) / max(len(labels), 1)
    bar_w = max((slot - gap) / max(len(series), 1), 1)
    parts = [tag("title", title)]
    for i, label in enumerate(labels):
        x0 = left + i * slot
        parts.append(tag("text", label, x=f"{x0 + slot / 2:.1f}", y=str(height - 6), text_anchor="middle"))
        for s, (_, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / top
            x, y = x0 + s * bar_w + gap / 2, 16 + plot_h - h
            parts.append(tag("rect", "", class_="bar" if s == 0 else "bar2", x=f"{x:.1f}", y=f"{y:.1f}",
                             width=f"{max(bar_w - 1, 1):.1f}", height=f"{h:.1f}"))  # fmt: skip
            if value:
                parts.append(tag("text", value, x=f"{x + bar_w / 2:.1f}", y=f"{y - 3:.1f}", text_anchor="middle"))
    parts.append(tag("text", top, x="0", y="20"))
    keys = [join([tag("rect", "", class_="bar" if s == 0 else "bar2", x=str(90 * s), y="2", width="10", height="10"),
                  tag("text", name, x=str(90 * s + 14), y="11")]) for s, (name, _) in enumerate(series)]  # fmt: skip
    legend = tag("svg", join(keys), xmlns="http://www.w3.org/2000/svg", width=str(90 * len(series)), height="14",
                 role="img", aria_label=f"legend: {', '.join(name for name, _ in series)}")  # fmt: skip
    svg = tag("svg", join(parts), xmlns="http://www.w3.org/2000/svg", width=str(width), height=str(height),
              viewBox=f"0 0 {width} {height}", role="img", aria_label=title)  # fmt: skip
    return join([tag("div", svg), tag("div", legend)])


def hidden(name: str, value: str) -> Html:
    return Html(f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">')


def action(url: str, label: str, csrf: str) -> Html:
    """A button that POSTs to `url` with the session's CSRF token."""
    return tag("form", join([hidden("csrf", csrf), tag("button", label, type="submit")]), method="post",
               action=url, class_="inline")  # fmt: skip


def page(title: str, body: Any, *, base: str, here: str = "", csrf: str | None = None, who: str | None = None,
         flash: str | None = None, error: str | None = None) -> str:  # fmt: skip
    """The whole document: the navigation (and a log-out button) when signed in."""
    header = Html("")
    if csrf is not None:
        links = join(tag("a", label, href=f"{base}/{path}" if path else base, class_="here" if path == here else None)
                     for path, label in NAV)  # fmt: skip
        out = tag("form", join([hidden("csrf", csrf), tag("button", f"Log out {who or ''}".strip(), type="submit")]),
                  method="post", action=f"{base}/logout")  # fmt: skip
        header = tag("header", join([tag("strong", "Operations"), links, out]))
    notices = join([tag("p", flash, class_="flash") if flash else "", tag("p", error, class_="error") if error else ""])
    head = join([Html('<meta charset="utf-8">'), Html('<meta name="viewport" content="width=device-width">'),
                 tag("title", f"{title} · Operations"), Html(f"<style>{STYLE}</style>")])  # fmt: skip
    return "<!doctype html>" + tag("html", join([tag("head", head), tag("body", join([
        header, tag("main", join([tag("h1", title), notices, body]))]))]), lang="en")  # fmt: skip
