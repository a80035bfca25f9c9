"""Dispersion, retry and response files exchanged with the bank (spec steps 24-29).

The spec says the files follow "size, scheme and format defined by BBVA" but does not give
them: these layouts are the project's proposal, TO BE CONFIRMED WITH THE BANK before
production (docs/decisions.md). Same codec as the ASBANC files: one table per record,
checked at import; positions are 1-based and inclusive; ASCII only.

Dispersion and retry files (250 wide): one header H, one detail D per transaction, one
trailer T with the record count and the total. Response files (120 wide): one line per
transaction the bank processed.
"""

from domain.fixedwidth import ALNUM, Field, Kind, Layout

DISPERSION_WIDTH = 250
RESPONSE_WIDTH = 120
NAME_CHARSET = ALNUM + " .,-"  # beneficiary names: ASCII, no accents or Ñ (the writer refuses them)

DISPERSION_HEADER = Layout(
    "cabecera de dispersion",
    DISPERSION_WIDTH,
    (
        Field("tipo_registro", 1, 1, const="H",
              doc="Always H"),
        Field("nombre_archivo", 2, 30, charset=ALNUM + "_.", pattern=r"(DISP|REIN)_[0-9]{8}_[0-9]{6}_[0-9]{3}\.TXT",
              note="DISP (dispersion) or REIN (reintento) + AAAAMMDD + HHMMSS + secuencia(3) + .TXT",
              doc=("The file's own name: DISP (dispersion) or REIN (retry), AAAAMMDD, HHMMSS, a sequence of 3 digits,"
                   " .TXT")),
        Field("fecha_generacion", 32, 8, Kind.DATE,  # DDMMAAAA, America/Mexico_City
              doc="The day the file was written, DDMMAAAA (Mexico City)"),
        Field("hora_generacion", 40, 6, Kind.TIME,  # HHMMSS
              doc="The time the file was written, HHMMSS (Mexico City)"),
        Field("tipo_archivo", 46, 1, choices=("D", "R"),  # D dispersion, R reintento
              doc="D first dispersion, R retry"),
        Field("filler", 47, 204, required=False,
              doc="Blank"),
    ),
)  # fmt: skip

DISPERSION_DETAIL = Layout(
    "detalle de dispersion",
    DISPERSION_WIDTH,
    (
        Field("tipo_registro", 1, 1, const="D",
              doc="Always D"),
        Field("id_transaccion", 2, 36, charset=ALNUM + "-",  # the purchase id (UUID)
              doc="The purchase's transaction id (a UUID): the response names it"),
        Field("clabe_destino", 38, 18, charset="0-9", pattern=r"[0-9]{18}",  # check digit validated before writing
              doc="The distributor's CLABE (18 digits, check digit verified before writing)"),
        Field("nombre_beneficiario", 56, 40, charset=NAME_CHARSET,
              doc="The distributor's name: ASCII letters, digits, spaces and .,-"),
        Field("importe", 96, 15, Kind.AMOUNT, decimals=2,  # cents: 000000000125050 is 1,250.50
              doc="The amount to transfer, in cents (000000000125050 is 1,250.50)"),
        Field("moneda", 111, 3, choices=("MXN",),
              doc="Always MXN"),
        Field("referencia", 114, 7, Kind.N,  # SPEI numeric reference
              doc="The SPEI numeric reference (7 digits)"),
        Field("concepto", 121, 40, charset=NAME_CHARSET,
              doc="The payment concept: ASCII letters, digits, spaces and .,-"),
        Field("fecha_valor", 161, 8, Kind.DATE,
              doc="The value date, DDMMAAAA"),
        Field("intento", 169, 2, Kind.N,  # 00 first dispersion, 01.. retries
              doc="00 for the first dispersion, 01 and up for retries"),
        Field("filler", 171, 80, required=False,
              doc="Blank"),
    ),
)  # fmt: skip

DISPERSION_TRAILER = Layout(
    "sumario de dispersion",
    DISPERSION_WIDTH,
    (
        Field("tipo_registro", 1, 1, const="T",
              doc="Always T"),
        Field("numero_registros", 2, 9, Kind.N,  # detail records
              doc="How many D records the file has"),
        Field("importe_total", 11, 18, Kind.AMOUNT, decimals=2,
              doc="The sum of their importe, in cents"),
        Field("filler", 29, 222, required=False,
              doc="Blank"),
    ),
)  # fmt: skip

RESPONSE = Layout(
    "respuesta de dispersion",
    RESPONSE_WIDTH,
    (
        Field("id_transaccion", 1, 36, charset=ALNUM + "-",
              doc="The id_transaccion of the detail this line answers"),
        Field("estatus", 37, 1, choices=("P", "R"),  # P procesada (abonada), R rechazada / devuelta
              doc="P processed (the transfer was credited), R rejected or returned"),
        Field("codigo_motivo", 38, 2, charset="0-9", pattern=r"[0-9]{2}",  # 00 if processed; SPEI reasons
              doc="00 when processed; otherwise the SPEI return reason (table below)"),
        Field("clave_rastreo", 40, 30, required=False, charset=ALNUM + "-",  # the bank's tracking key
              doc="The bank's tracking key of the transfer (blank when rejected)"),
        Field("fecha_operacion", 70, 8, Kind.DATE,
              doc="The day the bank executed the transfer, DDMMAAAA"),
        Field("intento", 78, 2, Kind.N,  # echoed from the detail: which attempt this answers
              doc="The intento of the detail this line answers"),
        Field("filler", 80, 41, required=False,
              doc="Blank"),
    ),
)  # fmt: skip

# SPEI return reasons (catalogo de devoluciones): which ones a retry may cure.
RETURN_REASONS = {
    "01": ("Cuenta inexistente", False),
    "02": ("Cuenta bloqueada", True),
    "03": ("Cuenta cancelada", False),
    "04": ("Cuenta en otra divisa", False),
    "05": ("Cuenta no pertenece al participante receptor", False),
    "06": ("Beneficiario no reconoce el pago", False),
    "07": ("Falta informacion mandatoria para completar el pago", False),
    "08": ("Tipo de pago erroneo", False),
    "09": ("Tipo de operacion erronea", False),
    "10": ("Tipo de cuenta no corresponde", False),
    "11": ("A solicitud del emisor", False),
    "12": ("Caracter invalido", False),
    "13": ("Excede el limite de saldo autorizado de la cuenta", True),
    "14": ("Excede el limite de abonos permitidos en el mes en la cuenta", True),
    "99": ("Falla temporal del participante receptor", True),
}


def retryable(code: str) -> bool:
    """Whether a rejection with this reason may succeed if sent again; unknown reasons are final."""
    return RETURN_REASONS.get(code, ("", False))[1]
