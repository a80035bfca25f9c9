"""What every collections model and rule table shares."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A request or answer of the spec: a field it does not name is an error, not ignored."""

    model_config = ConfigDict(extra="forbid")


def value_at(root: Any, path: str) -> Any:
    """The value at a dotted path of nested models, None as soon as a level is missing."""
    node = root
    for part in path.split("."):
        if node is None:
            return None
        node = getattr(node, part, None)
    return node
