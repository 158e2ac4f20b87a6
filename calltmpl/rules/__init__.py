"""Cross-field rules. Importing this package registers every rule family."""

from calltmpl.rules import across, companions, identity, lengths, messaging, telephony
from calltmpl.rules.registry import REGISTRY, Finding, Rule, rule, set_rule

__all__ = [
    "REGISTRY",
    "Finding",
    "Rule",
    "across",
    "companions",
    "identity",
    "lengths",
    "messaging",
    "rule",
    "set_rule",
    "telephony",
]
