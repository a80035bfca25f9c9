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
              note="D + empresa(5) + DDMMAAAA + secuencia(3) + .TXT"),
        Field("tipo_actualizacion", 22, 1, choices=("R", "N")),  # 02 R reemplazo total, N novedades
        Field("codigo_empresa", 23, 7, Kind.N),  # 03 0000730: the company, zero-padded to 7
        Field("fecha_transmision", 30, 8, Kind.DATE),  # 04 DDMMAAAA
        Field("hora_transmision", 38, 6, Kind.TIME),  # 05 HHMMSS (24 h)
        Field("numero_registros", 44, 9, Kind.N),  # 06 number of detail records
        Field("importe_total_soles", 53, 15, Kind.AMOUNT, decimals=2),  # 07 sum of Deuda, MonedaDoc 1
        Field("importe_total_dolares", 68, 15, Kind.AMOUNT, decimals=2),  # 07 (sic) sum of Deuda, MonedaDoc 2
        Field("filler", 83, 120, required=False),  # 08 future use
        Field("mac", 203, 8, Kind.N),  # 09 authenticity code, future use: 00000000
    ),
)  # fmt: skip

DETAIL = Layout(
    "detalle de deudas",
    RECORD_WIDTH,
    (
        Field("tipo_actualizacion", 1, 1, choices=("N", "A", "D")),  # 01 N nuevo, A actualizar, D eliminar
        Field("codigo_cliente", 2, 14, charset=ALNUM),  # 02 letters and digits, left-aligned
        Field("nombre_cliente", 16, 30, charset=ALNUM + ". "),  # 03 letters, digits, point, space
        Field("codigo_producto", 46, 3, choices=SERVICE_CODES),  # 04 001-004, defined for the company
        Field("num_documento", 49, 16, charset=ALNUM + "-"),  # 05 letters, digits, hyphen; ascending per client
        Field("desc_documento", 65, 20, required=False),  # 06 free text (ASCII)
        Field("fecha_vencimiento", 85, 8, Kind.DATE),  # 07 DDMMYYYY
        Field("fecha_emision", 93, 8, Kind.DATE),  # 08 DDMMYYYY
        Field("deuda", 101, 12, Kind.AMOUNT, decimals=2),  # 09 (12,2) without mora
        Field("mora", 113, 12, Kind.AMOUNT, decimals=2),  # 10 (12,2)
        Field("gastos_adm", 125, 12, Kind.AMOUNT, decimals=2),  # 11 (12,2)
        Field("pago_minimo", 137, 12, Kind.AMOUNT, decimals=2),  # 12 (12,2), 0 < x <= deuda+mora+gastos
        Field("periodo", 149, 2, Kind.N),  # 13 00-99, 00 when not applicable
        Field("anio", 151, 4, Kind.N),  # 14 year of the debt
        Field("cuota", 155, 2, Kind.N),  # 15 instalment, 00 when not applicable
        Field("moneda_doc", 157, 1, choices=("1", "2")),  # 16 1 soles, 2 dólares; must match the product
        Field("dni", 158, 8, charset="0-9", required=False, pattern=r"[12][0-9]{7}",
              note="8 digitos que empiezan con 1 o 2"),  # 17 optional
        Field("ruc", 166, 11, charset="0-9", required=False, pattern=r"[0-9]{11}", note="11 digitos"),  # 18 optional
        Field("identificador_04", 177, 14, charset=ALNUM, required=False),  # 19 optional alternative search key
        Field("filler", 191, 20, required=False),  # 20 free
    ),
)  # fmt: skip
