"""Collections management API (spec: collections-management-api.md): rules, models, decisions.

Colombia: dates and the Julian day of X-Invoker-TxId are America/Bogota.
"""

from zoneinfo import ZoneInfo

BOGOTA = ZoneInfo("America/Bogota")
