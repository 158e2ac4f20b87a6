"""Codes of the checks that are not cross-field rules: input files, templates, schema.

Families: CT0xx input files, CT1xx templates and rendering, CT2xx schema, CT3xx-CT7xx
cross-field rules (see :mod:`calltmpl.rules`), CT9xx push. A code is never reused.

A *fatal* code means the call target could not be built at all (nothing else is checked for
it), so it cannot be deselected or made less than an error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from calltmpl.diagnostics import Diagnostic, Severity

PIPELINE, TARGET, SET = "pipeline", "target", "set"
"""Scopes: a check of the pipeline (reading, rendering, the schema), a rule over one call
target, a rule across the call targets linted together."""
STABLE, PREVIEW = "stable", "preview"
CREATE, ANSWER = "create", "answer"
"""Kinds of call target a rule may not apply to: a body meant for a create (a rendered queue,
a POST body, a bare call target), or a GET answer, which is what the server holds, id and all."""


@dataclass(frozen=True)
class Code:
    """One code calltmpl reports, a pipeline check or a rule: the only record of a code.

    ``doc`` explains it (a rule's docstring); ``check`` is a rule's function (None for the
    pipeline's checks, which their modules run); ``reference`` names the item of the domain
    reference a rule implements ("3.1", or "inferred").
    """

    code: str
    name: str
    severity: Severity
    doc: str
    fatal: bool = False
    reference: str = ""
    scope: str = PIPELINE
    check: Callable[..., Any] | None = None
    status: str = STABLE
    not_for: tuple[str, ...] = ()
    """Kinds of call target the rule does not apply to (:data:`ANSWER`)."""

    @property
    def explanation(self) -> str:
        return inspect.cleandoc(self.doc)

    @property
    def summary(self) -> str:
        return self.explanation.split("\n", 1)[0]

    def at(
        self,
        file: str,
        line: int,
        column: int,
        message: str,
        *,
        pointer: str = "",
        hint: str = "",
        queue: str = "",
    ) -> Diagnostic:
        return Diagnostic(
            self.code,
            message,
            self.severity,
            file,
            max(line, 1),
            max(column, 1),
            pointer,
            hint,
            queue,
        )


E, W, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO

QUEUE_SYNTAX = Code(
    "CT001",
    "queue-yaml-syntax",
    E,
    """
    A queue file is not valid YAML.

    Why: nothing can be rendered from it; the position is where the YAML parser gave up.
    Bad:  name: [Billing
    Good: name: "[Billing]"
    """,
    fatal=True,
)
QUEUE_SHAPE = Code(
    "CT002",
    "queue-not-mapping",
    E,
    """
    A queue file is not a mapping of variables.

    Why: a queue file is `template:` plus one `variable: value` per line; a list or a single
    value gives the template nothing to work with.
    Bad:  - template: calltmpl/pstn.yaml.j2
    Good: template: calltmpl/pstn.yaml.j2
    """,
    fatal=True,
)
QUEUE_TEMPLATE = Code(
    "CT003",
    "queue-template-missing",
    E,
    """
    A queue file does not name its template.

    Why: `template` says which template renders the queue; without it there is no payload.
    Bad:  name: Billing            (and no template key)
    Good: template: calltmpl/pstn.yaml.j2
    """,
    fatal=True,
)
PAYLOAD_SYNTAX = Code(
    "CT004",
    "payload-json-syntax",
    E,
    """
    A payload file is not valid JSON.

    Why: the API would refuse it; the position is where the JSON parser gave up.
    Bad:  {"data": {"name": "Billing",}}
    Good: {"data": {"name": "Billing"}}
    """,
    fatal=True,
)
PAYLOAD_SHAPE = Code(
    "CT005",
    "payload-shape",
    E,
    """
    A payload file holds no call target in a known envelope.

    Why: calltmpl reads the POST body {"data": {...}}, the GET answer
    {"data": {"callTarget": {...}}} or a bare call target; anything else is not a call target.
    Bad:  [{"name": "Billing"}]
    Good: {"data": {"name": "Billing", "configuration": {}}}
    """,
    fatal=True,
)
UNUSED_VARIABLE = Code(
    "CT006",
    "unused-variable",
    E,
    """
    A queue variable no template reads, most likely a typo.

    Why: the built-in templates give every member a default, so a misspelt member name in a
    queue file silently keeps the default instead of your value, in production. An error by
    default; `lint: severity: {CT006: warning}` in calltmpl.yaml lowers it.
    Bad:  minCallbackNumberLenght: 11
    Good: minCallbackNumberLength: 11
    """,
)
UNUSED_SUPPRESSION = Code(
    "CT007",
    "unused-suppression",
    INFO,
    """
    A `# calltmpl: disable=...` comment silences nothing.

    Why: a suppression outlives the finding it was written for; stale ones hide the next real
    finding on that line, so clean them up. A code that does not exist is reported too.
    Bad:  maxEcbtPlayback: 3600  # calltmpl: disable=CT305   (nothing to silence)
    Good: maxEcbtPlayback: 45  # calltmpl: disable=CT305 -- short queue, agreed with ops
    """,
)
LINK_OUTSIDE = Code(
    "CT008",
    "link-outside-repository",
    E,
    """
    A queue or payload file is a link to a file outside the repository; it is not read.

    Why: a link committed to the repository (say to /proc/self/environ or a key file) would
    make calltmpl read the file and print its lines in CI's log. Copy the file in instead.
    Bad:  queues/shared.yaml -> ../../other-repo/queues/shared.yaml
    Good: queues/shared.yaml, a file of this repository
    """,
    fatal=True,
)
UNMATCHED_QUEUE_FILE = Code(
    "CT009",
    "queue-file-unmatched",
    E,
    """
    A YAML file in a queue folder that no `queues` glob of calltmpl.yaml matches.

    Why: it looks like a queue file, but it is never rendered, linted or pushed, so the call
    target it describes silently stays as it is in Mindful. Rename it, or widen `queues:`; a
    file kept there on purpose is silenced with `per-file-ignores`.
    Bad:  queues: ["queues/*.yaml"]       and the file queues/sales/inbound.yaml
    Good: queues: ["queues/**/*.yaml"]
    """,
)

TEMPLATE_NOT_FOUND = Code(
    "CT101",
    "template-not-found",
    E,
    """
    The template, or one it extends or includes, is missing.

    Why: template names are paths below a template folder (calltmpl.yaml `templates`) or
    `calltmpl/<name>` for the built-ins; names that climb out of the folders are not found.
    Bad:  template: templates/acme/billing.yaml.j2
    Good: template: acme/billing.yaml.j2
    """,
    fatal=True,
)
TEMPLATE_SYNTAX = Code(
    "CT102",
    "template-syntax",
    E,
    """
    A template is not valid Jinja.

    Why: the template cannot be compiled, so no queue built from it renders.
    Bad:  {% if sms %} ... (no endif)
    Good: {% if sms %} ... {% endif %}
    """,
    fatal=True,
)
UNDEFINED_VARIABLE = Code(
    "CT103",
    "undefined-variable",
    E,
    """
    A template uses a variable the queue does not define.

    Why: rendering is strict: an undefined variable would otherwise become an empty string
    and a payload the API accepts but does not mean.
    Bad:  timezone: {{ timezone | tojson }}   with no `timezone:` in the queue file
    Good: timezone: {{ timezone | default("America/Chicago") | tojson }}
    """,
    fatal=True,
)
TEMPLATE_SECURITY = Code(
    "CT104",
    "template-unsafe",
    E,
    """
    A template tried something the sandbox forbids.

    Why: templates come from many contributors and CI holds API credentials, so a template
    cannot reach Python internals, change values in place, or read other files.
    Bad:  {{ "".__class__.__mro__ }}
    Good: {{ name | upper | tojson }}
    """,
    fatal=True,
)
TEMPLATE_ERROR = Code(
    "CT105",
    "template-runtime-error",
    E,
    """
    A template failed while rendering.

    Why: an expression raised an error (a division by zero, a filter on the wrong type...).
    Bad:  {{ retries // 0 }}
    Good: {{ retries // 2 }}
    """,
    fatal=True,
)
OUTPUT_SYNTAX = Code(
    "CT106",
    "output-not-yaml",
    E,
    """
    A template rendered text that is not YAML.

    Why: a value inserted without `tojson` can carry a colon, a quote or a newline that breaks
    the YAML; the location is the template line that wrote the broken output line.
    Bad:  callbackAgentDestination: {{ destination }}
    Good: callbackAgentDestination: {{ destination | tojson }}
    """,
    fatal=True,
)
OUTPUT_SHAPE = Code(
    "CT107",
    "output-not-mapping",
    E,
    """
    A template rendered something that is not a mapping.

    Why: a template renders one call target: a mapping with name and configuration.
    Bad:  - name: Billing
    Good: name: Billing
    """,
    fatal=True,
)
OUTPUT_NOT_JSON = Code(
    "CT108",
    "output-not-json",
    E,
    """
    A rendered value is not a JSON value.

    Why: a payload carries JSON only, and YAML has more: an unquoted date is a date,
    `.nan` and `.inf` are numbers JSON has not (and `tojson` writes a queue's NaN as `NaN`),
    `!!binary` and `!!set` are binary data and sets, `1: x` has a key that is not a string.
    Push would send invalid JSON or fail. Shown at the template line, or the queue variable,
    that wrote the value.
    Bad:  startDate: 2024-01-31
    Good: startDate: "2024-01-31"
    """,
    fatal=True,
)
TEMPLATE_BUDGET = Code(
    "CT109",
    "template-budget-exceeded",
    E,
    """
    A template went over its budget of time, size or memory while rendering.

    Why: a render may take 5 seconds, print and build values of 4,194,304 characters (or
    list items), compute integers of 100,000 bits and loop over ranges of 100,000 items; a
    template past these limits (a runaway loop, a string doubled in a loop, a huge power)
    would otherwise hang CI or exhaust its memory. A call target is a few kilobytes.
    Bad:  {% for i in range(10**10) %} ... {% endfor %}
    Good: {% for number in numbers %} ... {% endfor %}
    """,
    fatal=True,
)

SCHEMA = Code(
    "CT201",
    "schema-violation",
    E,
    """
    A member has the wrong type, value or bounds.

    Why: the API refuses or misreads it. The message ends with the failing JSON Schema keyword
    (schemas/call-target.schema.json).
    Bad:  customerPromptLoops: "3"
    Good: customerPromptLoops: 3
    """,
)
UNKNOWN_MEMBER = Code(
    "CT202",
    "unknown-member",
    W,
    """
    A member the API does not know, most likely a typo.

    Why: the API ignores or refuses it, and the member you meant keeps its old value. The
    severity is the `lint: unknown-members` setting.
    Bad:  timeZone: America/Chicago
    Good: timezone: America/Chicago
    """,
)
MEMBERS_DROPPED = Code(
    "CT203",
    "members-dropped",
    E,
    """
    A template overrides a block of a built-in template and leaves members out.

    Why: the built-in writes every member; a block overridden without some of them renders a
    call target that lacks them, and a push sends the short body, which resets them in
    Mindful. Reported at the overriding `{% block %}` when the built-in, rendered with the
    same queue variables, writes members the queue's call target lacks.
    Bad:  {% block retries %}  maxCallbackRetries: 4{% endblock %}   (six members dropped)
    Good: {% block retries %}{{ super() }}{% endblock %}, or every member of the block
    """,
)

ALL: tuple[Code, ...] = (
    QUEUE_SYNTAX,
    QUEUE_SHAPE,
    QUEUE_TEMPLATE,
    PAYLOAD_SYNTAX,
    PAYLOAD_SHAPE,
    UNUSED_VARIABLE,
    UNUSED_SUPPRESSION,
    LINK_OUTSIDE,
    UNMATCHED_QUEUE_FILE,
    TEMPLATE_NOT_FOUND,
    TEMPLATE_SYNTAX,
    UNDEFINED_VARIABLE,
    TEMPLATE_SECURITY,
    TEMPLATE_ERROR,
    OUTPUT_SYNTAX,
    OUTPUT_SHAPE,
    OUTPUT_NOT_JSON,
    TEMPLATE_BUDGET,
    SCHEMA,
    UNKNOWN_MEMBER,
    MEMBERS_DROPPED,
)
