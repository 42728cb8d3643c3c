"""TLS alerts, sans I/O: the 2 bytes of an alert record in, a typed :class:`Alert` out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..display import Shown
from .constants import ALERT_DESCRIPTIONS, ALERT_LEVELS
from .reader import Reader

__all__ = ["Alert", "parse_alert"]


@dataclass(frozen=True)
class Alert(Shown):
    """A TLS alert: ``fatal`` ones end the connection; ``close notify`` ends it politely."""

    level: int
    description: int
    name: ClassVar[str] = "Alert"  # how a conversation lists it, beside the handshake messages' names

    @property
    def description_name(self) -> str:
        return ALERT_DESCRIPTIONS.get(self.description, f"alert {self.description}")

    def __str__(self) -> str:
        return f"{ALERT_LEVELS.get(self.level, self.level)}: {self.description_name}"


def parse_alert(data: bytes) -> Alert:
    reader = Reader(data, "Alert")
    alert = Alert(reader.uint(1), reader.uint(1))
    reader.expect_end()
    return alert
