"""Cross-field rules. Importing this package registers every rule family."""

from calltmpl.rules import companions, lengths, messaging, telephony
from calltmpl.rules.registry import REGISTRY, Finding, Rule, rule

__all__ = ["REGISTRY", "Finding", "Rule", "companions", "lengths", "messaging", "rule", "telephony"]
