"""Cross-field rules. Importing this package registers every rule family."""

from calltmpl.diagnostics import Finding
from calltmpl.rules import (
    across,
    callbacks,
    companions,
    identity,
    lengths,
    messaging,
    telephony,
)
from calltmpl.rules.registry import REGISTRY, rule, set_rule

__all__ = [
    "REGISTRY",
    "Finding",
    "across",
    "callbacks",
    "companions",
    "identity",
    "lengths",
    "messaging",
    "rule",
    "set_rule",
    "telephony",
]
