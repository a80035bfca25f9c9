"""The decision engines' parameters (profiling and policies), with their defaults.

The spec gives no formulas (NOTES.md): these are the project's, documented in README and
docs/decisions.md. An operator overrides any of them with a JSON file named by the
COLLECTIONS_RULES_FILE setting, e.g. {"capacity_share": "0.35", "max_days_past_due": {"PDIA": 120}}.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class DecisionRules:
    # profiling: capacity = max(0, disposable income) x capacity_share, in whole pesos (down)
    capacity_share: Decimal = Decimal("0.30")
    # policies, "primer momento": a tool is viable when the obligation is active, its days
    # past due are at most the tool's limit and its balance at least min_balance; each
    # causalExceptionInfo item lifts the check of its name
    max_days_past_due: dict[str, int] = field(
        default_factory=lambda: {
            "PDIA": 360,
            "PDD": 360,
            "PDDA": 360,
            "REDIF": 180,
            "PPPL": 720,
            "PPPA": 720,
            "PPPS": 720,
            "CNTL": 10_000,
            "PRERM": 720,
        }
    )
    default_max_days_past_due: int = 360
    min_balance: Decimal = Decimal("1")
    active_statuses: tuple[str, ...] = ("VIGENTE", "ACTIVO", "ACTIVE", "")
    # policies, "recalculo": term and grace limits of a new plan, months
    max_term: int = 360
    max_grace: int = 24

    @classmethod
    def load(cls, path: str | Path | None) -> DecisionRules:
        """The defaults, overridden by the JSON file if one is named; an unknown key is an error."""
        rules = cls()
        if not path:
            return rules
        data: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
        known = {f.name: f for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"{path}: unknown rule(s) {', '.join(sorted(unknown))}")
        changes: dict[str, Any] = {}
        for name, value in data.items():
            current = getattr(rules, name)
            if isinstance(current, Decimal):
                changes[name] = Decimal(str(value))
            elif isinstance(current, dict):
                changes[name] = {**current, **{str(k): int(v) for k, v in value.items()}}
            elif isinstance(current, tuple):
                changes[name] = tuple(str(v) for v in value)
            else:
                changes[name] = int(value)
        return replace(rules, **changes)
