"""What every collections model shares: the strict base, and the two leaf types every
request field is read as (`Num` for numbers, `Text` for Strings); the forms of fields.py
build on them."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_INTEGER_DIGITS = 18  # the widest number of the mapping tables: amounts of 18 digits
MAX_PLACES = 6  # the most decimals a table gives (intRateInfo.rate, percentages)


class Strict(BaseModel):
    """A request or answer of the spec: a field it does not name is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def bounded_number(value: Decimal) -> Decimal:
    """Every number a caller sends: finite, at most 18 integer digits and 6 decimals. Beyond
    that no field of the tables has a meaning, and the calculations stay exact and cannot
    overflow Python's decimal context (28 digits)."""
    if not value.is_finite():
        raise PydanticCustomError("numero_no_finito", "debe ser un numero finito")
    if value and value.adjusted() >= MAX_INTEGER_DIGITS:
        raise PydanticCustomError("numero_fuera_de_rango", f"a lo sumo {MAX_INTEGER_DIGITS} digitos enteros")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_PLACES:
        raise PydanticCustomError("numero_fuera_de_rango", f"a lo sumo {MAX_PLACES} decimales")
    return value


# the type of every number in a request and an answer; answers are written as JSON numbers
# (simplejson, exact), so the document says "number" where pydantic would say "string"
Num = Annotated[Decimal, AfterValidator(bounded_number), WithJsonSchema({"type": "number"}, mode="serialization")]


def _number_as_text(value: Any) -> Any:
    """A whole number sent for a field the tables type as String (`"strategyId": 5`, a date
    `20230213` "Numerico en formato yyyymmdd"): its digits. A fraction stays a number, and
    is refused: which text it stands for is not clear."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)) and value == value and abs(value) != float("inf") and value == int(value):
        return str(int(value))
    return value


# the type of every String of a request
Text = Annotated[str, BeforeValidator(_number_as_text, json_schema_input_type=str | int)]

# pydantic's error types, as the callers read them (the spec's messages are Spanish)
SPANISH = {
    "finite_number": "debe ser un numero finito",
    "decimal_parsing": "debe ser un numero",
    "decimal_type": "debe ser un numero",
    "decimal_max_digits": "tiene demasiados digitos",
    "decimal_max_places": "tiene demasiados decimales",
    "int_parsing": "debe ser un entero",
    "int_type": "debe ser un entero",
    "int_from_float": "debe ser un entero",
    "float_parsing": "debe ser un numero",
    "bool_parsing": "debe ser true o false",
    "bool_type": "debe ser true o false",
    "string_type": "debe ser texto",
    "string_too_long": "es demasiado largo",
    "string_pattern_mismatch": "tiene un formato no admitido",
    "list_type": "debe ser una lista",
    "model_type": "debe ser un objeto",
    "model_attributes_type": "debe ser un objeto",
    "dict_type": "debe ser un objeto",
    "date_parsing": "no es una fecha AAAA-MM-DD",
    "date_from_datetime_parsing": "no es una fecha AAAA-MM-DD",
    "too_long": "tiene demasiados elementos",
}


def spanish(error: Any) -> str:
    """The reason of one pydantic error in the words of the API (never the library's English)."""
    if error["type"] in ("numero_no_finito", "numero_fuera_de_rango", "valor_no_admitido"):
        return str(error["msg"])
    return SPANISH.get(error["type"], "valor no admitido")
