"""ASBANC payment file (generacion de pagos), spec section 6.4, as corrected by NOTES.md.

One `DD` record per payment (estado P) and per reversal (estado A); no header or trailer.
NOTES.md: fields 01-14 at their printed positions, positions 3-26 blank (reserved), and
fields 15-17 moved after field 14 (the printed 174/182/183 overlap fields 11-12): fecha
contable 198-205, estado 206, filler 207-236. Record length 236.
"""

from domain.fixedwidth import ALNUM, PRINTABLE, Field, Kind, Layout

RECORD_WIDTH = 236

PAYMENT = Layout(
    "registro de pago",
    RECORD_WIDTH,
    (
        Field("tipo_registro", 1, 2, const="DD",  # 01 constant DD
              doc="Always DD"),
        Field("reservado", 3, 24, const=" " * 24,  # NOTES.md: 3-26 not described, blank
              doc="Blank (positions 3-26 are not described by the manual)"),
        Field("codigo_cliente", 27, 14, charset=ALNUM,  # 02
              doc="The client's code, as in the debt file"),
        Field("nombre_cliente", 41, 30, charset=ALNUM + ". ",  # 03
              doc="The client's name, as in the debt file"),
        Field("codigo_producto", 71, 3, choices=("001", "002", "003", "004"),  # 04
              doc="The service paid (001-004)"),
        Field("numero_documento", 74, 16, charset=ALNUM + "-",  # 05
              doc="The document paid, as in the debt file"),
        Field("fecha_vencimiento", 90, 8, Kind.DATE,  # 06 DDMMAAAA
              doc="The document's due date, DDMMAAAA"),
        Field("fecha_pago", 98, 8, Kind.DATE,  # 07 bank's transaction date, DDMMAAAA (America/Lima)
              doc="The bank's transaction date (fechaTxn), DDMMAAAA, Lima"),
        Field("hora_pago", 106, 6, Kind.TIME,  # 08 HHmmss (24 h)
              doc="The bank's transaction time (horaTxn), HHMMSS, 24 h"),
        Field("importe_pagado", 112, 15, Kind.AMOUNT, decimals=2,  # 09 cents: 000000000001550 is 15.50
              doc="The amount paid, in cents (000000000001550 is 15.50)"),
        Field("agencia", 127, 15, Kind.N,  # 10 not in the pago request: zeros (NOTES.md)
              doc="The bank's branch: not given by the API, zeros"),
        Field("direccion_agencia", 142, 40, required=False, charset=PRINTABLE,  # 11 printed N; text, blank
              doc="The branch's address: not given by the API, blank"),
        # 12 printed N(12), but the spec's own example A0154785 has a letter: written as text,
        # left-aligned (the API accepts 1-12 letters and digits).
        Field("numero_operacion", 182, 12, charset=ALNUM,
              doc="The bank's operation number (numeroOperacion): letters and digits, left-aligned"),
        Field("canal_pago", 194, 2, choices=("10", "20", "30", "40", "50", "60", "70", "80", "99"),  # 13
              doc="The channel the client paid through (idCanal): 10-80, or 99"),
        Field("forma_pago", 196, 2, choices=("01", "02", "03", "04"),  # 14
              doc="How the client paid (idForma): 01-04"),
        Field("fecha_contable", 198, 8, Kind.DATE,  # 15 printed at 174; NOTES.md: 198-205
              doc=("The accounting day, DDMMAAAA: the Lima day of the payment (or of its reversal), the next one "
                   "after the cut-off hour")),
        Field("estado", 206, 1, choices=("P", "A"),  # 16 printed at 182; NOTES.md: 206. P pagado, A extornado
              doc="P paid; A reversed (a payment of this file or of an earlier one)"),
        Field("filler", 207, 30, required=False,  # 17 printed 183-212; NOTES.md: 207-236
              doc="Blank"),
    ),
)
