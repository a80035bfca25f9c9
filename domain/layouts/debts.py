"""ASBANC debt file (carga de deudas), spec section 5.4, as amended by NOTES.md.

Every record is 210 characters. Positions are the manual's (1-based, inclusive).
"""

from domain.fixedwidth import ALNUM, Field, Kind, Layout

RECORD_WIDTH = 210
SERVICE_CODES = ("001", "002", "003", "004")

HEADER = Layout(
    "cabecera de deudas",
    RECORD_WIDTH,
    (
        # 01 D + company (5, zero-padded) + DDMMYYYY + sequence (3) + .TXT; NOTES.md: the
        # example D0073022102021001.TXT is authoritative, the DEEEEEDDMMAAASSS pattern a typo.
        Field("nombre_archivo", 1, 21, charset=ALNUM + ".", pattern=r"D[0-9]{5}[0-9]{8}[0-9]{3}\.TXT",
              note="D + empresa(5) + DDMMAAAA + secuencia(3) + .TXT",
              doc=("The file's own name: D, the company code in 5 digits, the date DDMMAAAA and a sequence of 3 "
                   "digits, then .TXT (e.g. D0073022102021001.TXT)")),
        Field("tipo_actualizacion", 22, 1, choices=("R", "N"),  # 02 R reemplazo total, N novedades
              doc=("R replaces every debt of the company with the file's; N applies the file's lines as changes (new,"
                   " update, delete)")),
        Field("codigo_empresa", 23, 7, Kind.N,  # 03 0000730: the company, zero-padded to 7
              doc="The company code, zero-padded to 7 digits (0000730)"),
        Field("fecha_transmision", 30, 8, Kind.DATE,  # 04 DDMMAAAA
              doc="The day the file was produced, DDMMAAAA (Lima)"),
        Field("hora_transmision", 38, 6, Kind.TIME,  # 05 HHMMSS (24 h)
              doc="The time the file was produced, HHMMSS, 24 h (Lima)"),
        Field("numero_registros", 44, 9, Kind.N,  # 06 number of detail records
              doc="How many detail lines follow"),
        Field("importe_total_soles", 53, 15, Kind.AMOUNT, decimals=2,  # 07 sum of Deuda, MonedaDoc 1
              doc="Sum of the deuda field of the soles lines (moneda_doc 1), in cents"),
        Field("importe_total_dolares", 68, 15, Kind.AMOUNT, decimals=2,  # 07 (sic) sum of Deuda, MonedaDoc 2
              doc="Sum of the deuda field of the dollar lines (moneda_doc 2), in cents"),
        Field("filler", 83, 120, required=False,  # 08 future use
              doc="Blank"),
        Field("mac", 203, 8, Kind.N,  # 09 authenticity code, future use: 00000000
              doc="Authenticity code, not used yet: 00000000"),
    ),
)  # fmt: skip

DETAIL = Layout(
    "detalle de deudas",
    RECORD_WIDTH,
    (
        Field("tipo_actualizacion", 1, 1, choices=("N", "A", "D"),  # 01 N nuevo, A actualizar, D eliminar
              doc="N new debt, A update it, D delete it (in an R file every line is a debt to keep)"),
        Field("codigo_cliente", 2, 14, charset=ALNUM,  # 02 letters and digits, left-aligned
              doc="The client's code at the company: letters and digits, left-aligned"),
        Field("nombre_cliente", 16, 30, charset=ALNUM + ". ",  # 03 letters, digits, point, space
              doc="The client's name: letters, digits, points and spaces (no accents or Ñ)"),
        Field("codigo_producto", 46, 3, choices=SERVICE_CODES,  # 04 001-004, defined for the company
              doc="The service the debt belongs to (001-004), one the company has"),
        Field("num_documento", 49, 16, charset=ALNUM + "-",  # 05 letters, digits, hyphen; ascending per client
              doc=("The document (invoice, receipt): letters, digits and hyphens; a client's documents in ascending "
                   "order")),
        Field("desc_documento", 65, 20, required=False,  # 06 free text (ASCII)
              doc="Free text describing the document (ASCII)"),
        Field("fecha_vencimiento", 85, 8, Kind.DATE,  # 07 DDMMYYYY
              doc="Due date, DDMMAAAA"),
        Field("fecha_emision", 93, 8, Kind.DATE,  # 08 DDMMYYYY
              doc="Issue date, DDMMAAAA"),
        Field("deuda", 101, 12, Kind.AMOUNT, decimals=2,  # 09 (12,2) without mora
              doc="The amount owed without late fees, in cents"),
        Field("mora", 113, 12, Kind.AMOUNT, decimals=2,  # 10 (12,2)
              doc="Late fees, in cents"),
        Field("gastos_adm", 125, 12, Kind.AMOUNT, decimals=2,  # 11 (12,2)
              doc="Administrative charges, in cents"),
        Field("pago_minimo", 137, 12, Kind.AMOUNT, decimals=2,  # 12 (12,2), 0 < x <= deuda+mora+gastos
              doc="The least a payment may be, in cents: more than 0 and at most deuda + mora + gastos_adm"),
        Field("periodo", 149, 2, Kind.N,  # 13 00-99, 00 when not applicable
              doc="The billing period 00-99 (00 when it does not apply)"),
        Field("anio", 151, 4, Kind.N,  # 14 year of the debt
              doc="The year of the debt"),
        Field("cuota", 155, 2, Kind.N,  # 15 instalment, 00 when not applicable
              doc="The instalment number (00 when it does not apply)"),
        Field("moneda_doc", 157, 1, choices=("1", "2"),  # 16 1 soles, 2 dólares; must match the product
              doc="1 soles, 2 dollars: the currency of the service"),
        Field("dni", 158, 8, charset="0-9", required=False, pattern=r"[12][0-9]{7}",
              note="8 digitos que empiezan con 1 o 2",  # 17 optional
              doc="Optional: the client's DNI, 8 digits starting with 1 or 2 (a bank may look debts up by it)"),
        Field("ruc", 166, 11, charset="0-9", required=False, pattern=r"[0-9]{11}", note="11 digitos",  # 18 optional
              doc="Optional: the client's RUC, 11 digits (a bank may look debts up by it)"),
        Field("identificador_04", 177, 14, charset=ALNUM, required=False,  # 19 optional alternative search key
              doc="Optional: another key a bank may look debts up by (letters and digits)"),
        Field("filler", 191, 20, required=False,  # 20 free
              doc="Blank"),
    ),
)  # fmt: skip
