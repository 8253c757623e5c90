"""What a step did, or why not: the HTTP status, a Chinese message and per-field errors."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    """What a step did, or why not: HTTP status, a Chinese message, and per-field errors."""

    status: int
    message: str
    stage: str | None = None
    errors: dict[str, str] = field(default_factory=dict)
    failed_conditions: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == 200

    def as_json(self) -> dict:
        body = {"message": self.message, "stage": self.stage}
        if self.errors:
            body["errors"] = self.errors
        if self.failed_conditions:
            body["failed_conditions"] = self.failed_conditions
        return body
