"""The project's own error types; parsers and use cases raise nothing else on bad input."""

from __future__ import annotations


class DomainError(ValueError):
    """A business rule refused the input. `field` names what was wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.message = message
