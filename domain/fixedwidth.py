"""Declarative fixed-width records: one table of fields per layout, read by parser and writer.

A `Layout` is checked when it is built (at import): fields must start at 1, follow each
other with no gap or overlap, and end at the declared width. From the table it derives a
single compiled regular expression for the whole line (the fast path, one C call per
line) and per-field checks that name the field, the value and the reason for every
problem (the slow path, only for lines the fast path refused). The parser never raises
on input: it returns the typed values or the list of `FieldError`s. The writer refuses a
value that does not fit; it never truncates.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal
from functools import lru_cache
from typing import Any

PRINTABLE = " -~"  # printable ASCII: no accents, no Ñ, no control characters
ALNUM = "A-Za-z0-9"


class Kind(enum.StrEnum):
    AN = "AN"  # text, left-aligned, padded with spaces
    N = "N"  # digits, right-aligned, padded with zeros; value is an int
    AMOUNT = "AMOUNT"  # digits with implied decimals; value is an int in minor units
    DATE = "DATE"  # DDMMYYYY; value is a date
    TIME = "TIME"  # HHMMSS; value is a time


@dataclass(frozen=True)
class FieldError:
    line: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field} {self.value!r}: {self.reason}"


class FormatError(ValueError):
    """The writer was given a value that does not fit its field."""

    def __init__(self, field: str, value: Any, reason: str) -> None:
        super().__init__(f"{field} {value!r}: {reason}")
        self.field = field
        self.value = value
        self.reason = reason


class LayoutError(Exception):
    """A layout table is inconsistent (a programming error, raised at import)."""


@dataclass(frozen=True)
class Field:
    """One field as the bank's manual prints it (1-based start, length)."""

    name: str
    start: int
    length: int
    kind: Kind = Kind.AN
    charset: str = PRINTABLE  # regex class body of the allowed characters (AN)
    required: bool = True  # False: all blanks is allowed (value None, or "" for AN)
    decimals: int = 0  # AMOUNT
    choices: tuple[str, ...] = ()  # allowed values (AN, N)
    pattern: str | None = None  # regex the stripped value must match (AN)
    const: str | None = None  # fixed content
    note: str = ""  # the expected form, quoted by the pattern's error message
    doc: str = ""  # what the field holds, for the people who exchange the file (docs/file-layouts.md)

    @property
    def end(self) -> int:
        return self.start + self.length - 1

    @property
    def spaces_inside(self) -> bool:
        return " " in self.charset or self.charset == PRINTABLE


@dataclass(frozen=True)
class Layout:
    name: str
    width: int
    fields: tuple[Field, ...]
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _fast: Callable[[bytes], dict[str, Any] | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        position = 1
        names = set()
        for f in self.fields:
            if f.name in names:
                raise LayoutError(f"{self.name}: field {f.name} is declared twice")
            names.add(f.name)
            if f.length <= 0:
                raise LayoutError(f"{self.name}: field {f.name} has length {f.length}")
            if f.start > position:
                raise LayoutError(f"{self.name}: gap before {f.name} (positions {position}-{f.start - 1})")
            if f.start < position:
                raise LayoutError(f"{self.name}: {f.name} at {f.start} overlaps the field before (ends {position - 1})")
            if f.const is not None and len(f.const) != f.length:
                raise LayoutError(f"{self.name}: constant of {f.name} is not {f.length} long")
            position = f.end + 1
        if position - 1 != self.width:
            raise LayoutError(f"{self.name}: fields end at {position - 1}, the record is {self.width} wide")
        object.__setattr__(self, "_regex", re.compile("".join(_fast_pattern(f) for f in self.fields), re.DOTALL))
        object.__setattr__(self, "_fast", _compile_fast_parser(self))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    # -- parsing -------------------------------------------------------------------------------

    def parse(self, line: bytes, line_no: int = 0) -> tuple[dict[str, Any] | None, list[FieldError]]:
        """Values by field name, or None and every problem found in the line."""
        values = self.parse_fast(line)
        if values is not None:
            return values, []
        return None, self.diagnose(line, line_no)

    def parse_fast(self, line: bytes) -> dict[str, Any] | None:
        """Typed values when every field is valid, else None (then `diagnose` says why)."""
        return self._fast(line)

    def tuple_parser(
        self, columns: Sequence[str], params: Sequence[str] = (), none_if_blank: Collection[str] = ()
    ) -> Callable[..., tuple[Any, ...] | None]:
        """A fast parser returning a tuple in `columns` order (field names or extra `params`).

        For loops that turn a million lines into database rows: no dict, no re-packing.
        Returns None for any line `parse_fast` would refuse.
        """
        return _compile_fast_parser(self, columns, params, none_if_blank)

    def diagnose(self, line: bytes, line_no: int) -> list[FieldError]:
        """Every field problem of a line, named (the slow path)."""
        if len(line) != self.width:
            shown = line[:40].decode("latin-1") + ("..." if len(line) > 40 else "")
            return [FieldError(line_no, "registro", shown, f"longitud {len(line)}, se esperan {self.width} caracteres")]
        errors = []
        for f in self.fields:
            raw = line[f.start - 1 : f.end]
            reason = check_field(f, raw)
            if reason is not None:
                errors.append(FieldError(line_no, f.name, raw.decode("latin-1"), reason))
        return errors

    # -- writing -------------------------------------------------------------------------------

    def tuple_writer(self, columns: Sequence[str]) -> Callable[..., str]:
        """A fast writer taking the values of `columns` positionally and returning the record as
        text (ASCII). Same checks as `format` (a value that does not fit raises FormatError);
        fields not named are written blank or as their constant."""
        return _compile_writer(self, columns)

    def format(self, values: Mapping[str, Any]) -> bytes:
        """The record for `values` (missing optional fields are blank); FormatError if one does not fit."""
        parts = [format_field(f, values.get(f.name)) for f in self.fields]
        line = b"".join(parts)
        assert len(line) == self.width
        return line


def _class(charset: str) -> str:
    return "[" + charset + "]"


def _fast_pattern(f: Field) -> str:
    """A fixed-width regex group saying everything about the field that a regex can say.

    Alignment and inner spaces become alternatives by trailing-space count, choices and
    fixed-width patterns are inlined, so for most fields no Python check is left.
    """
    width = f.length
    blank = f"| {{{width}}}" if not f.required else ""
    if f.const is not None:
        return "(" + re.escape(f.const) + ")"
    if f.kind in (Kind.N, Kind.AMOUNT, Kind.DATE, Kind.TIME):
        if f.choices and all(len(c) == width for c in f.choices):
            return "(" + "|".join(re.escape(c) for c in f.choices) + blank + ")"
        return f"([0-9]{{{width}}}{blank})"
    if f.choices and all(len(c) == width for c in f.choices):
        return "(" + "|".join(re.escape(c) for c in f.choices) + blank + ")"
    if f.pattern and _fixed_width(f.pattern) == width:
        return f"((?:{f.pattern}){blank})"
    if f.spaces_inside:
        first = f.charset.replace(" ", "") if f.charset != PRINTABLE else "!-~"
        return f"([{first}][{f.charset}]{{{width - 1}}}{blank})"
    runs = "|".join(f"[{f.charset}]{{{width - pad}}} {{{pad}}}" for pad in range(width))
    return f"({runs}{blank})"


def _fixed_width(pattern: str) -> int | None:
    """The width of strings `pattern` matches, when they all have the same one."""
    try:
        low, high = re._parser.parse(pattern).getwidth()  # type: ignore[attr-defined]
    except (re.error, AttributeError):
        return None
    return low if low == high else None


def _date(raw: str | bytes) -> date | None:
    try:
        return date(int(raw[4:8]), int(raw[2:4]), int(raw[0:2]))
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _time(raw: str | bytes) -> time | None:
    try:
        return time(int(raw[0:2]), int(raw[2:4]), int(raw[4:6]))
    except ValueError:
        return None


def _date_value(raw: str) -> date | None:
    """Parse DDMMYYYY and remember it: a file has few distinct dates."""
    value = _date(raw)
    if value is not None and len(_DATES) < 100_000:
        _DATES[raw] = value
    return value


_DATES: dict[str, date] = {}


def _compile_fast_parser(
    layout: Layout,
    columns: Sequence[str] | None = None,
    params: Sequence[str] = (),
    none_if_blank: Collection[str] = (),
) -> Callable[..., Any]:
    """Generate one straight-line function for the layout (no call per field: this runs per line).

    The line is decoded as ASCII once (any other byte sends it to the slow path), the
    regex checks what it can, and what is left per field is conversion: strip, int, date.
    Without `columns` it returns a dict by field name; with them, a tuple in that order,
    where a column is a field name or one of `params`, the extra arguments it takes.
    """
    env: dict[str, Any] = {
        "_match": layout._regex.fullmatch, "_dates": _DATES.get, "_date": _date_value, "_time": _time,
        "_Error": UnicodeDecodeError,
    }  # fmt: skip
    body = [
        f"def parse({', '.join(['line', *params])}):",
        "    try:",
        "        text = line.decode('ascii')",
        "    except _Error:",
        "        return None",
        "    m = _match(text)",
        "    if m is None:",
        "        return None",
        f"    {', '.join(f'g{i}' for i in range(len(layout.fields)))}, = m.groups()",
    ]
    wanted = set(columns) if columns is not None else set(layout.names)
    variable = {}
    for i, f in enumerate(layout.fields):
        g, v = f"g{i}", f"v{i}"
        variable[f.name] = v
        env[f"BLANK{i}"] = " " * f.length
        inline_choices = bool(f.choices) and all(len(c) == f.length for c in f.choices)
        if f.choices and not inline_choices:
            env[f"CHOICES{i}"] = frozenset(f.choices)
        if f.pattern and _fixed_width(f.pattern) != f.length:
            env[f"PATTERN{i}"] = re.compile(f.pattern).fullmatch
        blank_value = "None" if f.name in none_if_blank or f.kind is not Kind.AN else "''"
        if f.const is not None or (inline_choices and f.required):
            body.append(f"    {v} = {g}")
        elif f.kind in (Kind.AMOUNT, Kind.N):
            if f.choices and not inline_choices:
                body += [f"    if {g} not in CHOICES{i} and {g} != BLANK{i}:", "        return None"]
            body.append(f"    {v} = int({g})" if f.required else f"    {v} = None if {g} == BLANK{i} else int({g})")
        elif f.kind in (Kind.DATE, Kind.TIME):
            get = f"_dates({g}) or _date({g})" if f.kind is Kind.DATE else f"_time({g})"
            if f.required:
                body += [f"    {v} = {get}", f"    if {v} is None:", "        return None"]
            else:
                body += [f"    if {g} == BLANK{i}:", f"        {v} = None", "    else:", f"        {v} = {get}",
                         f"        if {v} is None:", "            return None"]  # fmt: skip
        elif f.name in wanted or f"PATTERN{i}" in env or (f.choices and not inline_choices):
            body.append(f"    {v} = {g}.rstrip(' ')" + (" or None" if blank_value == "None" else ""))
            if f.choices and not inline_choices:
                body += [f"    if {v} and {v} not in CHOICES{i}:", "        return None"]
            if f"PATTERN{i}" in env:
                body += [f"    if {v} and PATTERN{i}({v}) is None:", "        return None"]
    if columns is None:
        body.append("    return {" + ", ".join(f"{f.name!r}: {variable[f.name]}" for f in layout.fields) + "}")
    else:
        unknown = [c for c in columns if c not in variable and c not in params]
        if unknown:
            raise LayoutError(f"{layout.name}: no field or parameter {', '.join(unknown)}")
        body.append("    return (" + ", ".join(variable.get(c, c) for c in columns) + ",)")
    exec("\n".join(body), env)  # the source is built above from the layout table only
    return env["parse"]


def _valid_text(f: Field) -> re.Pattern[str]:
    """What a whole AN value may be (before padding): the writer's fast check."""
    chars = f.charset if f.charset != PRINTABLE else " -~"
    if f.spaces_inside:
        first = chars.replace(" ", "") if chars != " -~" else "!-~"
        body = f"[{first}](?:[{chars}]{{0,{f.length - 1}}}(?<! ))?"
    else:
        body = f"[{chars}]{{1,{f.length}}}"
    if f.pattern:
        body = f"(?=(?:{f.pattern})$){body}"
    return re.compile(body)


def _compile_writer(layout: Layout, columns: Sequence[str]) -> Callable[..., str]:
    """Generate the writer: one f-string of padded pieces, each value checked inline; on a
    failed check the per-field writer raises the precise FormatError."""
    unknown = [c for c in columns if c not in layout.names]
    if unknown:
        raise LayoutError(f"{layout.name}: no field {', '.join(unknown)}")
    env: dict[str, Any] = {"_slow": format_field, "_Error": FormatError, "_datecls": date, "_timecls": time}
    args = {name: f"a{i}" for i, name in enumerate(columns)}
    body = [f"def write({', '.join(args.values())}):"]
    pieces = []
    for i, f in enumerate(layout.fields):
        env[f"F{i}"] = f
        a, v = args.get(f.name), f"s{i}"
        if a is None or f.const is not None:
            pieces.append(f.const if f.const is not None else " " * f.length)
            if a is not None:
                body += [f"    if {a} not in (None, {f.const!r}):", f"        _slow(F{i}, {a})"]
            continue
        blank = " " * f.length
        if f.kind in (Kind.N, Kind.AMOUNT):
            env[f"LIMIT{i}"] = 10**f.length
            check = f"type({a}) is int and 0 <= {a} < LIMIT{i}"
            if f.choices:
                env[f"CHOICES{i}"] = frozenset(int(c) for c in f.choices)
                check += f" and {a} in CHOICES{i}"
            body += [f"    if {check}:", f"        {v} = str({a}).zfill({f.length})", "    else:"]
            body.append(f"        {v} = _slow(F{i}, {a}).decode()")
        elif f.kind is Kind.DATE:
            body += [
                f"    if isinstance({a}, _datecls) and 1000 <= {a}.year:",
                f"        {v} = f'{{{a}.day:02d}}{{{a}.month:02d}}{{{a}.year:04d}}'",
                "    else:",
                f"        {v} = _slow(F{i}, {a}).decode()",
            ]
        elif f.kind is Kind.TIME:
            body += [
                f"    if isinstance({a}, _timecls):",
                f"        {v} = f'{{{a}.hour:02d}}{{{a}.minute:02d}}{{{a}.second:02d}}'",
                "    else:",
                f"        {v} = _slow(F{i}, {a}).decode()",
            ]
        else:
            if f.choices:
                env[f"CHOICES{i}"] = frozenset(f.choices)
                check = f"{a} in CHOICES{i}"
            else:
                env[f"VALID{i}"] = _valid_text(f).fullmatch
                check = f"type({a}) is str and VALID{i}({a}) is not None"
            empty = f"{a} is None or {a} == ''"
            body += [f"    if {check}:", f"        {v} = {a}.ljust({f.length})"]
            if not f.required:
                body += [f"    elif {empty}:", f"        {v} = {blank!r}"]
            body += ["    else:", f"        {v} = _slow(F{i}, {a}).decode()"]
        pieces.append("{" + v + "}")
    body.append("    return f" + repr("".join(pieces)))
    exec("\n".join(body), env)  # the source is built above from the layout table only
    return env["write"]


def check_field(f: Field, raw: bytes) -> str | None:
    """Why the raw bytes of a field are not valid (Spanish, ASCII only: it goes into .ERR files), or None."""
    text = raw.decode("latin-1")
    if any(b > 0x7E or b < 0x20 for b in raw):
        bad = next(c for c in text if not (" " <= c <= "~"))
        return f"caracter no permitido {bad!a} (solo ASCII, sin tildes ni enie)"
    if f.const is not None:
        return None if text == f.const else f"debe ser {f.const!r}"
    if not text.strip():
        return "campo obligatorio" if f.required else None
    if f.kind is Kind.AN:
        return _check_text(f, text)
    if not text.isdigit():
        return "debe ser numerico, completado con ceros a la izquierda"
    if f.kind is Kind.DATE and _date(raw) is None:
        return "fecha invalida (DDMMAAAA)"
    if f.kind is Kind.TIME and _time(raw) is None:
        return "hora invalida (HHMMSS)"
    if f.kind is Kind.N and f.choices and text not in f.choices:
        return f"valor no permitido (se admite {', '.join(f.choices)})"
    return None


_DESCRIBE = {
    ALNUM: "solo letras y numeros",
    ALNUM + ". ": "solo letras, numeros, punto y espacio",
    ALNUM + "-": "solo letras, numeros y guion",
    "0-9": "solo digitos",
}


def _check_text(f: Field, text: str) -> str | None:
    value = text.rstrip(" ")
    if value.startswith(" "):
        return "debe estar alineado a la izquierda"
    allowed = re.compile(_class(f.charset) + "*")
    if allowed.fullmatch(value) is None:
        bad = next(c for c in value if not allowed.fullmatch(c))
        return f"caracter no permitido {bad!a} ({_DESCRIBE.get(f.charset, 'caracteres imprimibles')})"
    if f.choices and value not in f.choices:
        return f"valor no permitido (se admite {', '.join(f.choices)})"
    if f.pattern and re.fullmatch(f.pattern, value) is None:
        return f"formato invalido (se espera {f.note or f.pattern})"
    return None


def format_field(f: Field, value: Any) -> bytes:
    """One field's bytes; FormatError instead of truncating or guessing."""
    if f.const is not None:
        if value not in (None, f.const):
            raise FormatError(f.name, value, f"is the constant {f.const!r}")
        return f.const.encode()
    if value is None or value == "":
        if f.required:
            raise FormatError(f.name, value, "is required")
        return b" " * f.length
    if f.kind is Kind.AMOUNT:
        return _format_digits(f, _minor_units(f, value))
    if f.kind is Kind.N:
        text = str(value)
        if not text.isdigit() or not text.isascii():
            raise FormatError(f.name, value, "must be digits")
        if f.choices and text.zfill(f.length) not in f.choices:
            raise FormatError(f.name, value, f"must be one of {', '.join(f.choices)}")
        return _format_digits(f, int(text))
    if f.kind is Kind.DATE:
        if not isinstance(value, date):
            raise FormatError(f.name, value, "must be a date")
        return value.strftime("%d%m%Y").encode() if value.year >= 1000 else _too_long(f, value)
    if f.kind is Kind.TIME:
        if not isinstance(value, time):
            raise FormatError(f.name, value, "must be a time")
        return value.strftime("%H%M%S").encode()
    text = str(value)
    if len(text) > f.length:
        raise FormatError(f.name, value, f"is {len(text)} characters, the field holds {f.length}")
    reason = check_field(f, text.encode("latin-1", errors="replace").ljust(f.length))
    if not text.isascii() or reason is not None:
        raise FormatError(f.name, value, reason or "must be ASCII")
    return text.encode().ljust(f.length)


def _too_long(f: Field, value: Any) -> bytes:
    raise FormatError(f.name, value, "year before 1000 does not fit DDMMYYYY")


def _minor_units(f: Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise FormatError(f.name, value, "amount must be int (minor units) or Decimal")
    if isinstance(value, Decimal):
        scaled = value.scaleb(f.decimals)
        if scaled != scaled.to_integral_value():
            raise FormatError(f.name, value, f"has more than {f.decimals} decimals")
        return int(scaled)
    return value


def _format_digits(f: Field, number: int) -> bytes:
    if number < 0:
        raise FormatError(f.name, number, "must not be negative")
    text = str(number)
    if len(text) > f.length:
        raise FormatError(f.name, number, f"needs {len(text)} digits, the field holds {f.length}")
    return text.zfill(f.length).encode()
