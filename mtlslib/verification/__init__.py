"""Certificate path verification explained check by check, and reference verdicts."""

from .explain import (
    PROFILES,
    Check,
    Explanation,
    Settings,
    explain,
    load_crls,
)

__all__ = [
    "Check",
    "Explanation",
    "PROFILES",
    "Settings",
    "explain",
    "load_crls",
]
