"""The app's functions, built once per process.

`FunctionApp.get_functions()` may be called only once: a second call reports every
function as a duplicate name (azure-functions 1.x), so everything here goes through this.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func

_built: dict[int, list[Any]] = {}


def functions_of(app: func.FunctionApp) -> list[Any]:
    key = id(app)
    if key not in _built:
        _built[key] = app.get_functions()
    return _built[key]
