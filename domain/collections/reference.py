"""docs/collections-fields.md: the field reference a channel team is handed, rendered from the
same rules the routes run (fields.py, each route's FIELDS, the negotiation CASES and the header
tables), so that it cannot drift from what the API accepts. `manage.py openapi` writes it and
`--check` (run by the tests) fails when it is stale."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from domain.collections.agreements import QUERY
from domain.collections.collection_check import FIELDS as CHECK_FIELDS
from domain.collections.dates import FORMS as DATE_FORMS
from domain.collections.fields import Rule
from domain.collections.headers import COLLECTION, COMMON, Header
from domain.collections.negotiations import CASES, FIELDS, NEW_TOOL_REQUIRED
from domain.collections.policies import FIELDS as POLICY_FIELDS
from domain.collections.profiling import FIELDS as PROFILE_FIELDS

BASE = "/api/collections-management/v1"

INTRO = f"""# API de gestion de cobranza: campos aceptados

Generado desde las reglas del codigo (`domain/collections/`) por `python manage.py openapi`: no
editar a mano. Cada fila dice que acepta el servicio para un campo; lo que no cabe en su forma
se rechaza con `10007` ("Error al transformar") nombrando el campo y el motivo, y un campo
obligatorio ausente (o `null`, o `""`) con `10002` ("El objeto de Entrada es nulo"). Un campo
que ninguna tabla ni ejemplo nombra tambien es `10007`. Las respuestas de error tienen siempre
la forma `responseType` / `responseDetail`.

## Formas comunes

- **Fechas**: {", ".join(DATE_FORMS)}; `AAAAMMDD` tambien como numero JSON (`20220922`); `AAMMDD`
  es de los anos 2000 a 2099 (la tabla escribe `createdDt` como "230213"). Un dia que no existe
  se rechaza.
- **Numeros**: un numero JSON o su texto (`24`, `"24"`; donde la tabla pide ceros a la izquierda,
  tambien `"024"`); siempre finito, a lo sumo 18 digitos enteros y los decimales que la fila
  admite. `NaN`, `Infinity` o `1e30` se rechazan.
- **Textos**: donde la tabla dice String y se envia un numero entero JSON, vale su texto
  (`"strategyId": 5` es `"05"`: un codigo de digitos tambien sin sus ceros a la izquierda).
- **Cuentas** (`acctId`): con o sin los espacios a la derecha hasta 20 que pide la tabla; es la
  misma cuenta y la respuesta la devuelve como se envio.
- **Nombres de campo**: donde la tabla escribe un campo distinto que el ejemplo
  (`GovIssueIdent`, `businessOcucupation`, `AdditionalData`, `trn.RefId`, ...), valen los dos;
  las respuestas usan el del ejemplo.
- **Codigos**: se comparan sin espacios alrededor; donde la fila lo dice, tambien sin distinguir
  mayusculas ni tildes.
"""


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _example(value: Any) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _fields(rules: Iterable[Rule], prefix: str = "", required: str = "si") -> list[str]:
    lines = ["| Campo | Obligatorio | Formas aceptadas | Tabla | Ejemplo |", "|---|---|---|---|---|"]
    for rule in rules:
        if not rule.table:
            shown = "(solo en el ejemplo)"
        else:
            shown = rule.words + (f" (la tabla escribe `{rule.table}`)" if rule.table != rule.path else "")
        lines.append(
            f"| `{rule.path.removeprefix(prefix)}` | {required if rule.required else ''} | {_cell(rule.form.words)} "
            f"| {_cell(shown)} | {_cell(_example(rule.example))} |"
        )
    return lines


def _headers(table: Iterable[Header]) -> list[str]:
    lines = ["| Header | Obligatorio | Formas aceptadas | Tabla |", "|---|---|---|---|"]
    for header in table:
        lines.append(f"| `{header.name}` | {'si' if header.required else ''} | {_cell(header.form.words)} "
                     f"| {_cell(header.words)} |")  # fmt: skip
    return lines


def _cases() -> list[str]:
    lines = ["| Core | Herramienta | Obligatorios (ademas de clientApp.name, strategyType y acctId) | Formas propias |",
             "|---|---|---|---|"]  # fmt: skip
    for (core, tool), case in CASES.items():
        required = ", ".join(f"`{p.removeprefix('collection.')}`" for p in case.required
                             if p != "collection.partyAcctRelRec.acctId")  # fmt: skip
        own = "; ".join(f"`{p.removeprefix('collection.')}`: {_cell(form.words)}" for p, form in case.forms.items())
        lines.append(f"| {core} | {tool} | {required} | {own} |")
    for core, required_paths in NEW_TOOL_REQUIRED.items():
        required = ", ".join(f"`{p.removeprefix('collection.')}`" for p in required_paths
                             if p != "collection.partyAcctRelRec.acctId")  # fmt: skip
        lines.append(f"| {core} | otra (herramienta nueva) | {required} | |")
    return lines


def render_reference() -> str:
    parts = [INTRO]
    parts += [f"## POST {BASE}/negotiations", "",
              "La tabla de cada core y herramienta dice que campos son obligatorios; un campo de otra tabla se "
              "acepta si cumple su forma. Una herramienta de otro core (PPPS fuera de BM/SLP, PRERM fuera de "
              "OTC/OCR, REDIF fuera de OTC) se rechaza con 10007; un codigo que ninguna tabla tiene es una "
              "herramienta nueva de su core y lleva los campos de ese core.", "", *_cases(), "",
              *_fields(FIELDS), ""]  # fmt: skip
    parts += [f"## POST {BASE}/negotiations/profile", "", "Cada campo es de cada item de `listValidation[]` "
              "(al menos uno); obligatorio: en cada item.", "",
              *_fields(PROFILE_FIELDS, "listValidation[]."), ""]  # fmt: skip
    parts += [f"## POST {BASE}/negotiations/policies", "", "Cada campo es de `creditAnalysis[].collection` "
              "(al menos un item); obligatorio: en cada item.", "",
              *_fields(POLICY_FIELDS, "creditAnalysis[].collection."), ""]  # fmt: skip
    parts += [f"## POST {BASE}/collection", "", "Consulta de recaudo del corresponsal bancario; `trn` es "
              "obligatorio. Un `X-Invoker-TxId` repetido con la misma solicitud recibe la primera respuesta; "
              "con otra, 10007.", "", *_fields(CHECK_FIELDS), "", "Headers de este servicio:", "",
              *_headers(COLLECTION), ""]  # fmt: skip
    parts += [f"## GET {BASE}/agreement/ics", "", "Por cuenta (`acctId`) o por titular (`govIssueIdentType` e "
              "`identSerialNum`), como parametros de la consulta.", "", *_fields(QUERY, required=""), ""]  # fmt: skip
    parts += ["## Headers de negotiations, profile, policies y agreement", "",
              "Ademas, en todos los servicios: `Authorization: Bearer <token>` (scope `collections`) y los headers "
              "`client_id` y `client_secret` del mismo cliente.", "", *_headers(COMMON), ""]  # fmt: skip
    return "\n".join(parts)
