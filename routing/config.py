"""The `routing:` section of config.yaml: its pydantic model and the checks against the rest of the config.

```yaml
routing:
  rules:                       # ordered, first match wins
    - name: vip
      when: {tier: [gold, platinum], kind: complaint}
      then: {department: support, priority: urgent, assign: account_manager, sla: vip, tags: [vip]}
  complaint: {priority: high, threshold: 1.0, sla: {first_response: 15m}}
  sales_department: sales      # where sales leads go when no rule says otherwise
  assign_account_manager: true # a customer's dedicated manager gets their tickets
  calendar_hours: [urgent]     # SLA policies counted on the wall clock instead of business hours
  lexicons: [lexicons/extra.yaml]   # operator lexicon files, relative to config.yaml
```
`validate_routing` raises hub.config.ConfigError naming the rule and key. Imports hub.config and hub.domain.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hub.config import Config, ConfigError, SlaTarget, format_error

PriorityName = Literal["low", "normal", "high", "urgent"]
KindName = Literal["question", "complaint", "sales", "callback", "feedback"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _listify(v: Any) -> Any:
    """`kind: complaint` and `kind: [complaint, sales]` both mean "one of"."""
    return [v] if isinstance(v, (str, int)) and not isinstance(v, bool) else v


class When(_Strict):
    """All given conditions must hold; a list means any one of its values."""

    kind: list[KindName] | None = None
    language: list[str] | None = None
    channel: list[str] | None = None
    keywords: dict[str, list[str]] | None = None  # per language; "*" applies to every language
    tier: list[str] | None = None
    tags: list[str] | None = None  # the customer has at least one of these
    business_hours: bool | None = None  # true: only while open (global calendar); false: only while closed
    min_complaint_score: float | None = None

    _lists = field_validator("kind", "language", "channel", "tier", "tags", mode="before")(
        classmethod(lambda cls, v: _listify(v))
    )


class Then(_Strict):
    department: str | None = None
    priority: PriorityName | None = None
    tags: list[str] = []
    assign: Literal["account_manager", "queue"] | None = None  # queue: never pre-assign, even to a manager
    sla: str | None = None  # a policy name: a key of config.yaml `sla:`


class Rule(_Strict):
    name: str | None = None
    when: When = When()
    then: Then


class ComplaintPolicy(_Strict):
    priority: PriorityName = "high"
    threshold: float = Field(1.0, gt=0, description="lexicon score from which a message is a complaint (detector: lexicon)")
    # "model": the learned classifier (nlp.models) decides, with the lexicon as one signal; "lexicon": keywords only.
    detector: Literal["model", "lexicon"] = "model"
    # Log-odds added per point of lexicon score (capped at 3 points), so operators' own lexicon entries nudge the
    # model.  None: the per-language weight chosen on dev splits when the model was trained (its thresholds assume it).
    lexicon_weight: float | None = Field(None, ge=0, le=5)
    urgent_score: float | None = Field(None, gt=0, description="score from which a complaint is urgent")
    sla: SlaTarget | None = None  # only the keys given override the priority's policy
    tags: list[str] = ["complaint"]


class RoutingConfig(_Strict):
    rules: list[Rule] = []
    complaint: ComplaintPolicy = ComplaintPolicy()
    sales_department: str = "sales"
    assign_account_manager: bool = True
    calendar_hours: list[str] = []
    lexicons: list[str] = []

    def lexicon_paths(self, base_dir: str | Path) -> tuple[str, ...]:
        return tuple(str((Path(base_dir) / p).resolve()) for p in self.lexicons)


def _rule_label(index: int, raw: Any) -> str:
    name = raw.get("name") if isinstance(raw, dict) else None
    return f"routing.rules[{index}]" + (f" (name {name!r})" if name else "")


def _check_rule(label: str, rule: Rule, config: Config) -> None:
    departments = [d.name for d in config.departments]
    if rule.then.department and rule.then.department not in departments:
        raise ConfigError(
            f"{label}: then.department: unknown department {rule.then.department!r}"
            f" (known: {', '.join(departments)})"
        )
    if rule.then.sla and rule.then.sla not in config.sla:
        raise ConfigError(
            f"{label}: then.sla: unknown SLA policy {rule.then.sla!r} (known: {', '.join(sorted(config.sla))})"
        )
    for lang, words in (rule.when.keywords or {}).items():
        if not words or any(not str(w).strip() for w in words):
            raise ConfigError(f"{label}: when.keywords.{lang}: expected a non-empty list of words")


def validate_routing(raw: dict[str, Any] | None, config: Config) -> RoutingConfig:
    """Parse and check `routing:`; raise ConfigError('routing.rules[2] (name 'vip'): then.department: ...')."""
    raw = dict(raw or {})
    rules_raw = raw.pop("rules", None) or []
    if not isinstance(rules_raw, list):
        raise ConfigError("routing.rules: expected a list of rules")
    rules: list[Rule] = []
    names: dict[str, int] = {}
    for i, item in enumerate(rules_raw):
        label = _rule_label(i, item)
        if not isinstance(item, dict):
            raise ConfigError(f"{label}: expected a mapping with when/then")
        try:
            rule = Rule.model_validate(item)
        except ValidationError as exc:
            raise ConfigError(format_error(exc, label).replace(f"{label}.", f"{label}: ", 1)) from None
        if rule.name and rule.name in names:
            raise ConfigError(f"{label}: name: duplicate of routing.rules[{names[rule.name]}]")
        if rule.name:
            names[rule.name] = i
        if rule.when == When() and i != len(rules_raw) - 1:
            # A catch-all is legal only last: anywhere else it silently hides every rule after it.
            raise ConfigError(f"{label}: when: a rule without conditions must be the last one (it matches all)")
        _check_rule(label, rule, config)
        rules.append(rule)
    try:
        parsed = RoutingConfig.model_validate({**raw, "rules": []})
    except ValidationError as exc:
        raise ConfigError(format_error(exc, "routing")) from None
    for name in parsed.calendar_hours:
        if name not in config.sla:
            raise ConfigError(f"routing.calendar_hours: unknown SLA policy {name!r}")
    base_dir = config.base_dir
    for i, path in enumerate(parsed.lexicon_paths(base_dir)):
        if not Path(path).is_file():
            raise ConfigError(f"routing.lexicons[{i}]: file not found: {parsed.lexicons[i]}")
    _check_lexicons(parsed, base_dir)
    return parsed.model_copy(update={"rules": rules})


def _check_lexicons(parsed: RoutingConfig, base_dir: str) -> None:
    if not parsed.lexicons:
        return
    from routing.lexicon import LexiconError, load_lexicons

    try:
        load_lexicons(parsed.lexicon_paths(base_dir))
    except LexiconError as exc:
        raise ConfigError(f"routing.lexicons: {exc}") from None


__all__ = ["ComplaintPolicy", "Rule", "RoutingConfig", "Then", "When", "validate_routing"]
