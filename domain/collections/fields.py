"""The mapping tables of the collections API as data: one `Rule` per field a route takes.

A rule names its field by the example's dotted path (`collection.partyAcctRelRec.acctId`,
`[]` for the items of a list) and, when the table spells it otherwise, by the table's
(`collection.GovIssueIdent.govIssueIdentType`): both spellings are accepted, answers use the
example's. Its `Form` says what the table allows, in every form the table or the example
writes it (a date as `2022-09-22`, `20220922` or `220922`; a number also as its digits; an
account padded with spaces to 20). From the rules come, so that a rule lives in one place:

- the request models (`request_model`): pydantic, a field no rule names is refused;
- the checks (`check`): a required field missing is 10002, a value outside its form 10007,
  each naming the field and the reason in Spanish;
- each field's OpenAPI schema (`Form.schema`), the field reference docs/collections-fields.md
  (`domain/collections/reference.py`) and the table-driven tests (`Form.accepted`,
  `Form.refused`: one value per documented form, and the values the form refuses).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, StrictBool, create_model

from domain.collections.dates import FORMS as DATE_FORMS
from domain.collections.dates import REASON as DATE_REASON
from domain.collections.dates import parse_date
from domain.collections.errors import NULL_INPUT, TRANSFORM, CollectionsError
from domain.collections.models import MAX_INTEGER_DIGITS, Num, Strict, Text

ID_CHARS = r"A-Za-z0-9\-"
NAME_CHARS = r"A-Za-z0-9_\-. "
PERSON_CHARS = r"A-Za-zÀ-ÿ_\-'. "


def plain(text: str) -> str:
    """Upper case without accents or surrounding spaces: how the tables' words compare."""
    decomposed = unicodedata.normalize("NFKD", text.strip().upper())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_VOWELS = {"A": "AaÁá", "E": "EeÉé", "I": "IiÍí", "O": "OoÓó", "U": "UuÚúÜü"}


def _any_case(words: Iterable[str]) -> str:
    """A JSON Schema pattern (no inline flags there) for `words` in any case, with or without
    accents and surrounding spaces: what `plain` compares."""

    def letter(c: str) -> str:
        if c in _VOWELS:
            return f"[{_VOWELS[c]}]"
        return f"[{c}{c.lower()}]" if c.isalpha() else re.escape(c)

    return "^ *(" + "|".join("".join(letter(c) for c in word) for word in words) + ") *$"


class Form:
    """What one field of a table allows. `check` sees the value after the model read it (a
    number as Decimal, a String as str, a flag as bool) and returns None or the reason."""

    annotation: Any = Text
    words = ""

    def check(self, value: Any) -> str | None:
        return None

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        """(form, value): one accepted value per form the table or the example writes."""
        return [("ejemplo", example)]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        """(why, value): values the form refuses (10007)."""
        return []


# -- text -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chars(Form):
    """Text of up to `most` characters from `charset` (a regex class body); blank only if `blank`."""

    most: int
    charset: str = NAME_CHARS
    blank: bool = False

    @property
    def words(self) -> str:  # type: ignore[override]
        blank = ", o en blanco" if self.blank else ""
        return f"texto de hasta {self.most} caracteres [{self.charset}]{blank}"

    def check(self, value: Any) -> str | None:
        text = str(value)
        if not text.strip():
            return None if self.blank else "no puede estar en blanco"
        if len(text) > self.most:
            return f"a lo sumo {self.most} caracteres"
        return None if re.fullmatch(f"[{self.charset}]+", text) else "tiene caracteres no permitidos"

    def schema(self) -> dict[str, Any]:
        text = {"type": "string", "maxLength": self.most, "pattern": f"^[{self.charset}]*$"}
        return {"anyOf": [text, {"type": "integer", "minimum": 0}]} if re.fullmatch(f"[{self.charset}]", "5") else text

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        found = [("texto", example)]
        if isinstance(example, str) and example.isdigit() and str(int(example)) == example:
            found.append(("numero", int(example)))
        if self.blank:
            found.append(("en blanco", ""))
        return found

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        char = str(example)[:1] if str(example)[:1].strip() else "1"
        found = [("demasiado largo", char * (self.most + 1))]
        if not self.blank:
            found.append(("en blanco", "   "))
        if not re.fullmatch(f"[{self.charset}]", "#"):
            found.append(("caracter no admitido", "#" + str(example)[: self.most - 1]))
        return found


@dataclass(frozen=True)
class Free(Form):
    """Free text up to `most` characters (names, descriptions); blank allowed. `numbers`: a
    number is kept as a number (the example sends one where the table types a String)."""

    most: int
    numbers: bool = False
    blank: bool = True

    @property
    def annotation(self) -> Any:  # type: ignore[override]
        return Text | Num if self.numbers else Text

    @property
    def words(self) -> str:  # type: ignore[override]
        blank = "" if self.blank else ", no en blanco"
        return f"texto libre de hasta {self.most} caracteres" + (" o un numero" if self.numbers else "") + blank

    def check(self, value: Any) -> str | None:
        if not self.blank and not str(value).strip():
            return "no puede estar en blanco"
        return f"a lo sumo {self.most} caracteres" if len(str(value)) > self.most else None

    def schema(self) -> dict[str, Any]:
        text = {"type": "string", "maxLength": self.most}
        return {"anyOf": [text, {"type": "number"}]} if self.numbers else text

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("texto", example), *([("en blanco", "")] if self.blank else [])]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("demasiado largo", "x" * (self.most + 1)), *([] if self.blank else [("en blanco", "  ")])]


@dataclass(frozen=True)
class Padded(Chars):
    """An id the tables say to complete "a 20 caracteres con espacios a derecha": with those
    spaces or without (the same id); what comes before them as Chars."""

    @property
    def words(self) -> str:  # type: ignore[override]
        return f"hasta {self.most} caracteres [{self.charset}], con o sin espacios a la derecha hasta {self.most}"

    def check(self, value: Any) -> str | None:
        text = str(value)
        if len(text) > self.most:
            return f"a lo sumo {self.most} caracteres"
        return super().check(text.rstrip(" ") or text)

    def schema(self) -> dict[str, Any]:
        text = {"type": "string", "maxLength": self.most, "pattern": f"^[{self.charset}]+ *$"}
        return {"anyOf": [text, {"type": "integer", "minimum": 0}]} if re.fullmatch(f"[{self.charset}]", "5") else text

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [*super().accepted(example), ("con espacios a la derecha", str(example).ljust(self.most))]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        text = str(example)
        return [*super().refused(example), ("espacios a la izquierda", " " + text),
                ("mas largo que el relleno", text.ljust(self.most + 1))]  # fmt: skip


@dataclass(frozen=True)
class Digits(Form):
    """Digits only, `least`..`most` of them, as text or as a whole JSON number ("justificado a
    la derecha y lleno de ceros": leading zeros are kept when sent as text)."""

    most: int
    least: int = 1
    blank: bool = False

    @property
    def words(self) -> str:  # type: ignore[override]
        size = f"{self.most}" if self.least == self.most else f"{self.least} a {self.most}"
        return f"{size} digitos (texto o numero)" + (", o en blanco" if self.blank else "")

    def check(self, value: Any) -> str | None:
        text = str(value).strip()
        if not text:
            return None if self.blank else "no puede estar en blanco"
        if not (text.isascii() and text.isdigit()):
            return "solo digitos"
        if self.least <= len(text) <= self.most:
            return None
        if self.least == self.most:
            return f"debe tener {self.most} digitos"
        return f"al menos {self.least} digitos" if len(text) < self.least else f"a lo sumo {self.most} digitos"

    def schema(self) -> dict[str, Any]:
        least = 0 if self.blank else self.least
        return {"anyOf": [{"type": "string", "pattern": f"^[0-9]{{{least},{self.most}}}$"},
                          {"type": "integer", "minimum": 0, "maximum": 10**self.most - 1}]}  # fmt: skip

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = [("texto", str(example))]
        if str(int(example)) == str(example) and len(str(example)) >= self.least:
            found.append(("numero", int(example)))
        if self.blank:
            found.append(("en blanco", ""))
        return found

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        found = [("no digitos", "12A4"[: max(self.least, 4)].ljust(self.least, "A")), ("demasiados digitos",
                 "1" * (self.most + 1))]  # fmt: skip
        if self.least > 1:
            found.append(("muy pocos digitos", "1" * (self.least - 1)))
        return found


@dataclass(frozen=True)
class Code(Form):
    """One code of the table's catalogue. Also: its `aliases` (the table's other spellings),
    a digit code without its leading zeros (`5`, "5" for "05"), and with `fold` the words
    compared without case or accents ("Público" = PUBLICO). `blank`: the field may go empty."""

    options: Mapping[str, str]
    aliases: Mapping[str, str] = field(default_factory=dict)
    fold: bool = False
    blank: bool = False
    loose_digits: bool = True  # "5" for "05"; headers say their fixed values exactly

    def __post_init__(self) -> None:
        if not isinstance(self.options, Mapping):  # a plain tuple of codes
            object.__setattr__(self, "options", dict.fromkeys(self.options, ""))

    @property
    def words(self) -> str:  # type: ignore[override]
        shown = ", ".join(f"{code} ({meaning})" if meaning else code for code, meaning in self.options.items())
        also = f"; tambien {', '.join(self.aliases)}" if self.aliases else ""
        fold = " (sin distinguir mayusculas ni tildes)" if self.fold else ""
        return f"uno de: {shown}{also}{fold}" + (", o en blanco" if self.blank else "")

    def canonical(self, value: Any) -> str | None:
        """The table's spelling of the code sent, None when it is none of them."""
        text = str(value).strip()
        if self.fold:
            text = plain(text)
        text = self.aliases.get(text, text)
        if text in self.options:
            return text
        if self.loose_digits and text.isascii() and text.isdigit():
            return next((o for o in self.options if o.isdigit() and text.zfill(len(o)) == o), None)
        return None

    def check(self, value: Any) -> str | None:
        if self.blank and _blank(value):
            return None
        if self.canonical(value) is not None:
            return None
        codes = list(self.options)
        if len(codes) <= 3:
            return "debe ser " + (codes[0] if len(codes) == 1 else f"{', '.join(codes[:-1])} o {codes[-1]}")
        return f"debe ser uno de {', '.join(codes)}"

    def schema(self) -> dict[str, Any]:
        codes = [*self.options, *self.aliases, *([""] if self.blank else [])]
        numbers = sorted({int(o) for o in self.options if o.isdigit()}) if self.loose_digits else []
        text: dict[str, Any] = {"type": "string", "enum": codes}
        if self.fold:
            text = {
                "type": "string",
                "pattern": _any_case([*self.options, *self.aliases, *([""] if self.blank else [])]),
            }
        return {"anyOf": [text, {"type": "integer", "enum": numbers}]} if numbers else text

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = [(f"codigo {code}", code) for code in self.options]
        found += [(f"{alias} (de la tabla)", alias) for alias in self.aliases]
        digit = next((code for code in self.options if code.isdigit()), None)
        if digit is not None and self.loose_digits:
            found.append(("numero", int(digit)))
        if self.fold:
            first = next(iter(self.options))
            found.append(("minusculas", first.lower()))
        if self.blank:
            found.append(("en blanco", ""))
        return found

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = [("fuera del catalogo", "ZZ9")]
        digits = [code for code in self.options if code.isdigit()]
        if digits:
            spare = next(str(n).zfill(len(digits[0])) for n in range(1, 10**len(digits[0]))
                         if str(n).zfill(len(digits[0])) not in self.options)  # fmt: skip
            found.append(("codigo numerico fuera del catalogo", spare))
        if not self.blank:
            found.append(("en blanco", " "))
        return found


def fixed(value: str, meaning: str = "valor fijo", loose_digits: bool = True) -> Code:
    return Code({value: meaning}, loose_digits=loose_digits)


# -- numbers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number(Form):
    """A JSON number, or its text ("24", "024"): between `low` and `high`, at most `places`
    decimals and `digits` integer digits. Every number is also finite and within the API's
    bounds (models.Num)."""

    low: Decimal | None = Decimal(0)
    high: Decimal | None = None
    places: int = 2
    digits: int = MAX_INTEGER_DIGITS
    padded: bool = False  # the table asks for leading zeros ("completando con ceros ... los 3 caracteres")

    annotation = Num

    @property
    def words(self) -> str:  # type: ignore[override]
        kind = "entero" if self.places == 0 else f"numero con hasta {self.places} decimales"
        span = []
        if self.low is not None:
            span.append(f"desde {self.low}")
        if self.high is not None:
            span.append(f"hasta {self.high}")
        else:
            span.append(f"de hasta {self.digits} digitos enteros")
        zeros = f", con o sin ceros a la izquierda hasta {self.digits}" if self.padded else ""
        return f"{kind} {' '.join(span)} (numero o texto){zeros}"

    def check(self, value: Any) -> str | None:
        if not isinstance(value, Decimal):
            return "debe ser un numero"
        if self.low is not None and value < self.low:
            return f"debe ser al menos {self.low}" if self.low else "no puede ser negativo"
        if self.high is not None and value > self.high:
            return f"debe ser a lo sumo {self.high}"
        whole = abs(value).to_integral_value(rounding="ROUND_DOWN")
        if len(str(int(whole))) > self.digits:
            return f"a lo sumo {self.digits} digitos enteros"
        exponent = value.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > self.places:
            return "debe ser un numero entero" if self.places == 0 else f"a lo sumo {self.places} decimales"
        return None

    def schema(self) -> dict[str, Any]:
        number: dict[str, Any] = {"type": "integer" if self.places == 0 else "number"}
        if self.low is not None:
            number["minimum"] = float(self.low) if self.places else int(self.low)
        top = self.high if self.high is not None else Decimal(10) ** self.digits - 1
        number["maximum"] = float(top) if self.places else int(top)
        return {"anyOf": [number, {"type": "string", "pattern": r"^ *-?[0-9]+(\.[0-9]+)? *$"}]}

    def _sample(self, example: Any) -> Decimal:
        return Decimal(str(example))

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        value = self._sample(example)
        number: Any = int(value) if value == value.to_integral_value() else float(value)
        found: list[tuple[str, Any]] = [("numero", number), ("texto", str(number))]
        if self.padded:
            found.append(("texto con ceros a la izquierda", str(int(value)).zfill(self.digits)))
        if self.places == 0:
            found.append(("numero con .0", float(int(value))))
        return found

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = [("no es un numero", "doce")]
        if self.low is not None:
            found.append(("por debajo del minimo", int(self.low) - 1 if self.low == int(self.low) else
                          float(self.low - Decimal("0.01"))))  # fmt: skip
        top = self.high if self.high is not None else Decimal(10) ** self.digits - 1
        found.append(("por encima del maximo", int(top) + 1))
        if self.places < 6:
            base = int(self.low or 0) + 1
            found.append(("demasiados decimales", f"{base}.{'1' * (self.places + 1)}"))
        return found


@dataclass(frozen=True)
class NumberText(Form):
    """A figure the examples send as text or as a number ("3.0", 3, ""), echoed as sent:
    text must read as a number within `number`, or be blank when `blank`."""

    number: Number
    blank: bool = True

    annotation = Text | Num

    @property
    def words(self) -> str:  # type: ignore[override]
        return self.number.words + (", o en blanco" if self.blank else "")

    def check(self, value: Any) -> str | None:
        if isinstance(value, str):
            if not value.strip():
                return None if self.blank else "no puede estar en blanco"
            try:
                value = Decimal(value.strip())
            except InvalidOperation:
                return "debe ser un numero"
            if not value.is_finite():
                return "debe ser un numero finito"
        return self.number.check(value)

    def schema(self) -> dict[str, Any]:
        inner = self.number.schema()
        return {"anyOf": [*inner["anyOf"], {"type": "string", "pattern": "^ *$"}]} if self.blank else inner

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [*self.number.accepted(example), *([("en blanco", "")] if self.blank else [])]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return self.number.refused(example)


# -- dates, hours, flags -------------------------------------------------------------------------


@dataclass(frozen=True)
class DateForm(Form):
    """A date in any form of domain/collections/dates.py; `blank`: may go empty ("")."""

    blank: bool = False

    @property
    def words(self) -> str:  # type: ignore[override]
        return f"fecha {', '.join(DATE_FORMS)} (AAAAMMDD tambien como numero)" + (", o en blanco" if self.blank else "")

    def check(self, value: Any) -> str | None:
        if self.blank and _blank(value):
            return None
        return None if parse_date(value) is not None else DATE_REASON

    def schema(self) -> dict[str, Any]:
        forms = r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{8}|[0-9]{6}" + ("|" if self.blank else "")
        return {"anyOf": [{"type": "string", "pattern": f"^ *({forms}) *$"},
                          {"type": "integer", "minimum": 10000101, "maximum": 99991231}]}  # fmt: skip

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        day = parse_date(example)
        assert day is not None, example
        found: list[tuple[str, Any]] = [("AAAA-MM-DD", day.isoformat()), ("AAAAMMDD", day.strftime("%Y%m%d")),
                                        ("AAAAMMDD numero", int(day.strftime("%Y%m%d"))),
                                        ("AAMMDD", day.strftime("%y%m%d"))]  # fmt: skip
        return found + ([("en blanco", "")] if self.blank else [])

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("dia que no existe", "2022-02-30"), ("otro formato", "22/09/2022"), ("mes 13", "20221301")]


_HOUR = re.compile(r"^([01]\d|2[0-3]):?([0-5]\d):?([0-5]\d)$")


@dataclass(frozen=True)
class Hour(Form):
    """Local time HHMMSS, or HH:MM:SS as the example writes it."""

    words = "hora HHMMSS o HH:MM:SS"

    def check(self, value: Any) -> str | None:
        return None if _HOUR.match(str(value).strip()) else "HHMMSS (o HH:MM:SS)"

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^([01][0-9]|2[0-3]):?[0-5][0-9]:?[0-5][0-9]$"}

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("HH:MM:SS", "15:37:59"), ("HHMMSS", "153759")]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("hora 25", "25:00:00"), ("incompleta", "1537")]


def _flag_reader(words: Mapping[str, bool]) -> Any:
    def read(value: Any) -> Any:
        if isinstance(value, str) and plain(value) in words:
            return words[plain(value)]
        return value

    return read


@dataclass(frozen=True)
class Flag(Form):
    """A Boolean: JSON true/false, or the words the table quotes ("true"/"false"; for
    flagContributor also "Si"/"No"). Nothing else (no 1/0, no "yes")."""

    words_true: tuple[str, ...] = ("TRUE",)
    words_false: tuple[str, ...] = ("FALSE",)

    @property
    def annotation(self) -> Any:  # type: ignore[override]
        table = {**dict.fromkeys(self.words_true, True), **dict.fromkeys(self.words_false, False)}
        return Annotated[StrictBool, BeforeValidator(_flag_reader(table), json_schema_input_type=bool | str)]

    @property
    def words(self) -> str:  # type: ignore[override]
        spelled = ", ".join(
            f'"{w.capitalize() if len(w) <= 2 else w.lower()}"' for w in (*self.words_true, *self.words_false)
        )
        return f"true o false (JSON), o el texto {spelled}"

    def schema(self) -> dict[str, Any]:
        return {
            "anyOf": [
                {"type": "boolean"},
                {"type": "string", "pattern": _any_case((*self.words_true, *self.words_false))},
            ]
        }

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        found: list[tuple[str, Any]] = [("true", True), ("false", False)]
        found += [
            (f'"{w}"', w.capitalize() if len(w) <= 2 else w.lower()) for w in (*self.words_true, *self.words_false)
        ]
        return found

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("otra palabra", "quizas"), ("numero", 1)]


@dataclass(frozen=True)
class Blankable(Form):
    """A field "en espacios" when not captured, else "justificado a la izquierda con blancos
    a la derecha" (trn.EANCode, trn.EffDt): blank, or `inner` then only spaces."""

    inner: Form

    @property
    def words(self) -> str:  # type: ignore[override]
        return f"en espacios, o {self.inner.words} justificado a la izquierda con espacios a la derecha"

    def check(self, value: Any) -> str | None:
        if _blank(value):
            return None
        text = str(value)
        if text != text.lstrip():
            return "debe ir justificado a la izquierda"
        return self.inner.check(text.rstrip(" "))

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("en blanco", ""), ("en espacios", " " * 8), ("valor", example), ("con espacios a la derecha",
                str(example) + "  ")]  # fmt: skip

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("espacios a la izquierda", " " + str(example)),
                *((why, v) for why, v in self.inner.refused(example) if not _blank(v))]  # fmt: skip


@dataclass(frozen=True)
class Boxed(Form):
    """A figure the table puts under `.amt` and the example sends bare (profile's
    collection.totalCurAmt): a number, or {"amt": number}."""

    number: Number

    @property
    def annotation(self) -> Any:  # type: ignore[override]
        return Num | _AMOUNT

    @property
    def words(self) -> str:  # type: ignore[override]
        return f'{self.number.words}, o {{"amt": ...}}'

    def check(self, value: Any) -> str | None:
        amount = getattr(value, "amt", value)
        return None if amount is None else self.number.check(amount)

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [self.number.schema(), {"type": "object", "properties": {"amt": self.number.schema()},
                                                 "additionalProperties": False}]}  # fmt: skip

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("numero", example), ('{"amt": numero}', {"amt": example})]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("no es un numero", "doce"), ('{"amt": no numero}', {"amt": "doce"})]


_AMOUNT = create_model("BoxedAmount", __base__=Strict, amt=(Num | None, None))


# -- headers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ip(Form):
    words = "direccion IPv4 o IPv6"

    def check(self, value: Any) -> str | None:
        try:
            ipaddress.ip_address(str(value).strip())
        except ValueError:
            return "no es una direccion IP"
        return None

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("IPv4", "10.5.43.214"), ("IPv6", "fe80::1")]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("no es IP", "10.5.43"), ("texto", "servidor")]


_MAC = re.compile(r"^[0-9A-Fa-f]{2}([-:])(?:[0-9A-Fa-f]{2}\1){4}[0-9A-Fa-f]{2}$")


@dataclass(frozen=True)
class Mac(Form):
    words = "direccion MAC, 6 pares hexadecimales con - o : (en ceros si no se puede obtener)"

    def check(self, value: Any) -> str | None:
        return None if _MAC.match(str(value).strip()) else "no es una direccion MAC (6 pares hexadecimales)"

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("con guiones", "0E-A5-38-F7-C3-09"), ("con dos puntos", "0e:a5:38:f7:c3:09"),
                ("en ceros", "00-00-00-00-00-00")]  # fmt: skip

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("5 pares", "0E-A5-38-F7-C3"), ("mezcla de separadores", "0E-A5:38-F7-C3-09")]


@dataclass(frozen=True)
class Accept(Form):
    words = "debe aceptar application/json (o */*)"

    def check(self, value: Any) -> str | None:
        kinds = {part.split(";")[0].strip().lower() for part in str(value).split(",")}
        return None if kinds & {"application/json", "application/*", "*/*"} else "debe aceptar application/json"

    def accepted(self, example: Any) -> list[tuple[str, Any]]:
        return [("json", "application/json"), ("cualquiera", "*/*"), ("lista", "text/html, application/json;q=0.9")]

    def refused(self, example: Any) -> list[tuple[str, Any]]:
        return [("solo xml", "application/xml")]


# -- rules and what is built from them ------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One row of a mapping table. `path`: the example's spelling; `table`: the row as the
    table writes it ("" when only the example has the field); `example`: a value the form
    accepts (the spec's own where it gives one); `required`: wherever the field's object or
    list item is present."""

    path: str
    form: Form
    example: Any
    table: str = ""
    words: str = ""  # the table's description
    required: bool = False

    @property
    def spellings(self) -> dict[str, str]:
        """Path to a segment of the example's spelling (without []) -> the table's other
        spelling of that segment (same depth)."""
        if not self.table:
            return {}
        ours, theirs = self.path.split("."), self.table.split(".")
        if len(ours) != len(theirs):
            return {}
        return {".".join(part.removesuffix("[]") for part in ours[: n + 1]): theirs[n].removesuffix("[]")
                for n in range(len(ours)) if ours[n] != theirs[n]}  # fmt: skip


def _segments(path: str) -> list[str]:
    return path.split(".")


@dataclass
class _Node:
    children: dict[str, _Node | Rule] = field(default_factory=dict)
    listed: bool = False  # the segment ends in []: a list of these objects


def _camel(text: str) -> str:
    return text[:1].upper() + text[1:]


def request_model(name: str, rules: Sequence[Rule], prefix: str) -> Any:
    """The pydantic model of a route's body, built from its rules: objects and lists from the
    paths, each leaf typed and documented by its form, the tables' spellings as aliases.
    Nested models are named `prefix` + the field (`Negotiation` + `PartyAcctRelRec`)."""
    root = _Node()
    aliases: dict[str, str] = {}
    for rule in rules:
        aliases.update(rule.spellings)
        node = root
        parts = _segments(rule.path)
        for part in parts[:-1]:
            key = part.removesuffix("[]")
            child = node.children.setdefault(key, _Node(listed=part.endswith("[]")))
            if not isinstance(child, _Node):
                raise ValueError(f"{rule.path}: {key} is a field and an object")
            node = child
        leaf = parts[-1]
        if leaf in node.children:
            raise ValueError(f"{rule.path}: named twice")
        node.children[leaf] = rule
    used: set[str] = set()

    def build(node: _Node, path: str, title: str, parent: str) -> Any:
        """The model of `node`; named `title`, or with its parent's key when taken (PolicyFeeCurAmt)."""
        model_name = title if title not in used else f"{prefix}{_camel(parent)}{title.removeprefix(prefix)}"
        used.add(model_name)
        fields: dict[str, Any] = {}
        for key, child in node.children.items():
            here = f"{path}.{key}" if path else key
            alias = aliases.get(here)
            if isinstance(child, Rule):
                kind: Any = child.form.annotation
                extra = _schema_hook(child)
            else:
                kind = build(child, here, f"{prefix}{_camel(key)}", path.rsplit(".", 1)[-1])
                if child.listed:
                    kind = list[kind]  # type: ignore[valid-type]
                extra = None
            info = Field(default=None, validation_alias=AliasChoices(key, alias) if alias else None,
                         json_schema_extra=extra)  # fmt: skip
            fields[key] = (kind | None, info)
        model = create_model(model_name, __base__=Strict, **fields)
        must = [key for key, child in node.children.items() if _required(child)]
        if must:  # in the schema only; fields.check says which one is missing (10002)
            model.model_config["json_schema_extra"] = {"required": must}
        return model

    return build(root, "", name, "")


def _required(node: _Node | Rule) -> bool:
    """A field every call must send: a required rule, or an object holding one (not a list:
    its items' fields are required in each item, the list itself may be empty)."""
    if isinstance(node, Rule):
        return node.required
    return not node.listed and any(_required(child) for child in node.children.values())


def _schema_hook(rule: Rule) -> Any:
    def hook(schema: dict[str, Any]) -> None:
        schema.clear()
        schema.update(rule.form.schema() if rule.required else _nullable(rule.form.schema()))
        words = (rule.words or "Solo en el ejemplo del spec").rstrip(".")
        schema["description"] = f"{words}. Formas: {rule.form.words}."
        if rule.table and rule.table != rule.path:
            schema["description"] += f" La tabla lo escribe {rule.table}."
        schema["example"] = rule.example
        schema.pop("title", None)

    return hook


def model_at(model: Any, path: str) -> Any:
    """The generated model class at a dotted path of objects (`[]` optional): for code that
    builds answers (`Offer()`, `Cause(...)`)."""
    current = model
    for part in _segments(path):
        annotation = current.model_fields[part.removesuffix("[]")].annotation
        candidates = [a for a in getattr(annotation, "__args__", (annotation,)) if a is not type(None)]
        found = candidates[0]
        if getattr(found, "__origin__", None) is list:
            found = found.__args__[0]
        current = found
    return current


def values_at(root: Any, path: str, shown: str = "") -> Iterator[tuple[str, Any]]:
    """(concrete path, value) of every place `path` names in a parsed request: each item of a
    list; None where an object on the way is missing (so that a required field is noticed)."""
    head, _, rest = path.partition(".")
    key = head.removesuffix("[]")
    where = f"{shown}.{key}" if shown else key
    value = getattr(root, key, None) if root is not None else None
    if not rest:
        yield where, value
        return
    if head.endswith("[]"):
        for n, item in enumerate(value or []):
            yield from values_at(item, rest, f"{where}[{n}]")
        return
    yield from values_at(value, rest, where)


def missing(value: Any) -> bool:
    return value is None or value == "" or value == []


def check(root: Any, rules: Sequence[Rule], *, required: Sequence[str] = (), forms: Mapping[str, Form] | None = None,
          context: str = "") -> None:  # fmt: skip
    """Raise CollectionsError for the first rule a parsed request breaks: a required field
    missing (10002) or a value outside its form (10007). `required` and `forms` are a case's
    own (negotiations per core and tool); `context` ends the 10002 message ("para BM PPPS")."""
    forms = forms or {}
    suffix = f" para {context}" if context else ""
    named = {rule.path for rule in rules}
    for path in required:  # objects and lists a case requires (no rule of their own): before their fields
        if path not in named:
            for where, value in values_at(root, path):
                if missing(value):
                    raise CollectionsError(NULL_INPUT, f"{where} es obligatorio{suffix}")
    for rule in rules:
        form = forms.get(rule.path, rule.form)
        narrowed = suffix if rule.path in forms else ""
        must = rule.required or rule.path in required
        for where, value in values_at(root, rule.path):
            if missing(value):
                if must:
                    raise CollectionsError(NULL_INPUT, f"{where} es obligatorio{suffix}")
                continue
            if (reason := form.check(value)) is not None:
                raise CollectionsError(TRANSFORM, f"{where} invalido: {reason}{narrowed}")


def table_names(rules: Sequence[Rule]) -> frozenset[str]:
    """The field names only the tables spell (`GovIssueIdent`), lowercase: the log allow-list
    (domain/masking.py) takes them beside the model's own, so that a caller writing the
    table's spelling is logged like one writing the example's."""
    return frozenset(name.lower() for rule in rules for name in rule.spellings.values())


def index(rules: Sequence[Rule]) -> dict[str, Rule]:
    """The rules by path; a path named twice is an error at import."""
    found: dict[str, Rule] = {}
    for rule in rules:
        if rule.path in found:
            raise ValueError(f"{rule.path} is named twice")
        found[rule.path] = rule
    return found
