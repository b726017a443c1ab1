"""The FAQ knowledge base: loading, validation and reload-on-change.

`load(path)` reads faq.yaml into an immutable `KnowledgeBase` or raises `KnowledgeBaseError` naming the file, the
line and the entry at fault.  `KnowledgeBaseHolder` keeps the current knowledge base (and whatever index is built
from it, e.g. a `bots.matcher.Matcher`) and swaps in a new one when the file changes; a broken file leaves the old
one in place.  Imports pydantic, PyYAML and the standard library only.

File shape::

    entries:
      - id: delivery_time            # unique, lower case
        department: support          # optional: where a handoff from this topic should go
        tags: [delivery]             # optional
        answer: {en: "...", th: "...", fa: "..."}
        examples: {en: ["...", ...], th: [...], fa: [...]}
        title: {en: "...", th: "..."}  # optional: the label when the bot asks "Did you mean ...?"
        buttons:                     # optional follow-ups shown under the answer
          - {label: {en: "...", th: "...", fa: "..."}, payload: "faq:shipping_cost"}
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["Entry", "FollowUp", "KnowledgeBase", "KnowledgeBaseError", "KnowledgeBaseHolder", "load", "parse"]

log = logging.getLogger(__name__)


# --- the values the rest of the bot uses ----------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FollowUp:
    labels: Mapping[str, str]
    payload: str

    def label(self, lang: str) -> str:
        return self.labels.get(lang) or self.labels.get("en") or next(iter(self.labels.values()))


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    answers: Mapping[str, str]
    examples: Mapping[str, tuple[str, ...]]
    department: str | None = None
    tags: tuple[str, ...] = ()
    buttons: tuple[FollowUp, ...] = ()
    titles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def title(self, lang: str) -> str:
        """A short label for "Did you mean ...?": the entry's title, else its first example, in `lang` if it can."""
        if self.titles.get(lang):
            return self.titles[lang]
        if self.examples.get(lang):
            return self.examples[lang][0]
        return self.titles.get("en") or next((ex[0] for ex in self.examples.values() if ex), self.id)

    def answer(self, lang: str) -> str:
        """The answer in `lang`, else English, else any language the entry has."""
        return self.answers.get(lang) or self.answers.get("en") or next(iter(self.answers.values()))


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]
    source: str = ""
    by_id: Mapping[str, Entry] = field(default_factory=lambda: MappingProxyType({}), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", MappingProxyType({e.id: e for e in self.entries}))

    def get(self, entry_id: str) -> Entry | None:
        return self.by_id.get(entry_id)

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(lang for e in self.entries for lang in e.examples)


class KnowledgeBaseError(ValueError):
    """A knowledge base file that cannot be used; `line` is 1-based, 0 when unknown."""

    def __init__(self, source: str, line: int, reason: str, entry_id: str | None = None) -> None:
        where = f"{source}:{line}" if line else source
        what = f" (entry {entry_id!r})" if entry_id else ""
        super().__init__(f"{where}{what}: {reason}")
        self.source, self.line, self.reason, self.entry_id = source, line, reason, entry_id


# --- the file schema --------------------------------------------------------------------------------------------------

_LANG = r"^[a-z]{2,3}$"


class _Button(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: dict[str, str]
    payload: str = Field(min_length=1, max_length=64)

    @field_validator("label")
    @classmethod
    def _some_label(cls, v: dict[str, str]) -> dict[str, str]:
        if not v or not all(s.strip() for s in v.values()):
            raise ValueError("a button needs a non-empty label in at least one language")
        return v


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    answer: dict[str, str]
    examples: dict[str, list[str]]
    department: str | None = None
    tags: list[str] = []
    buttons: list[_Button] = []
    title: dict[str, str] = {}  # optional short label per language, shown when the bot offers choices

    @field_validator("answer")
    @classmethod
    def _answers(cls, v: dict[str, str]) -> dict[str, str]:
        if not v:
            raise ValueError("an entry needs an answer in at least one language")
        for lang, text in v.items():
            if not text or not text.strip():
                raise ValueError(f"answer.{lang} is empty")
        return v

    @field_validator("examples")
    @classmethod
    def _examples(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        if not any(v.values()):
            raise ValueError("an entry needs at least one example phrasing")
        for lang, items in v.items():
            if any(not isinstance(s, str) or not s.strip() for s in items):
                raise ValueError(f"examples.{lang} has an empty phrasing")
        return v

    @model_validator(mode="after")
    def _answer_for_each_language(self) -> _Entry:
        missing = sorted(lang for lang, ex in self.examples.items() if ex and lang not in self.answer)
        if missing and "en" not in self.answer:
            raise ValueError(f"examples in {', '.join(missing)} but no answer in that language nor in en")
        return self


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = 1
    entries: list[_Entry]


# --- loading ------------------------------------------------------------------------------------------------------

def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The line of the YAML node that a pydantic error location points at (or of its nearest parent)."""
    line = node.start_mark.line + 1 if node is not None else 0
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def parse(text: str, source: str = "<string>") -> KnowledgeBase:
    """Validate knowledge base YAML text; raises KnowledgeBaseError with the line and the entry."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise KnowledgeBaseError(source, mark.line + 1 if mark else 0, f"not valid YAML: {getattr(exc, 'problem', exc)}")
    if data is None:
        raise KnowledgeBaseError(source, 1, "the file is empty")
    if isinstance(data, list):  # a bare list of entries is accepted too
        data, root = {"entries": data}, yaml.MappingNode("tag:yaml.org,2002:map", [(yaml.ScalarNode("", "entries"), root)])
    try:
        model = _File.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        entry_id = None
        if len(loc) >= 2 and loc[0] == "entries" and isinstance(loc[1], int):
            raw = data.get("entries", [])[loc[1]] if isinstance(data, dict) else None
            entry_id = raw.get("id") if isinstance(raw, dict) else None
        path = ".".join(str(p) for p in loc)
        raise KnowledgeBaseError(source, _line_of(root, loc), f"{path}: {err['msg']}", entry_id) from None
    seen: dict[str, int] = {}
    for i, e in enumerate(model.entries):
        if e.id in seen:
            line = _line_of(root, ("entries", i, "id"))
            raise KnowledgeBaseError(source, line, f"duplicate id (first used by entry #{seen[e.id] + 1})", e.id)
        seen[e.id] = i
    entries = tuple(
        Entry(
            id=e.id,
            answers=MappingProxyType(dict(e.answer)),
            examples=MappingProxyType({k: tuple(v) for k, v in e.examples.items() if v}),
            department=e.department,
            tags=tuple(e.tags),
            buttons=tuple(FollowUp(MappingProxyType(dict(b.label)), b.payload) for b in e.buttons),
            titles=MappingProxyType(dict(e.title)),
        )
        for e in model.entries
    )
    return KnowledgeBase(entries=entries, source=source)


def load(path: str | os.PathLike[str]) -> KnowledgeBase:
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise KnowledgeBaseError(path, 0, f"cannot read: {exc}") from None
    return parse(text, source=path)


# --- reload on change ---------------------------------------------------------------------------------------------

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Loaded(Generic[T]):
    kb: KnowledgeBase
    index: T


class KnowledgeBaseHolder(Generic[T]):
    """The current knowledge base plus an index built from it, swapped as one reference on reload.

    `reload()` is cheap when nothing changed (one stat call), so a periodic task may call it every few seconds;
    `hub reload` may call it with force=True.  The first load happens in the constructor and raises on a broken
    file, so a bad configuration fails at start; later failures keep the previous knowledge base and are logged
    once per file version.
    """

    def __init__(self, path: str | os.PathLike[str], build: Callable[[KnowledgeBase], T]) -> None:
        self.path = os.fspath(path)
        self._build = build
        self.last_error: KnowledgeBaseError | None = None
        stamp = self._stamp()
        kb = load(self.path)
        self._current: Loaded[T] = Loaded(kb, build(kb))
        self._stamp_seen = stamp

    @property
    def current(self) -> Loaded[T]:
        return self._current

    @property
    def kb(self) -> KnowledgeBase:
        return self._current.kb

    @property
    def index(self) -> T:
        return self._current.index

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload(self, force: bool = False) -> bool:
        """Load the file again if it changed; True when a new knowledge base is now in use."""
        stamp = self._stamp()
        if not force and stamp == self._stamp_seen:
            return False
        self._stamp_seen = stamp
        try:
            kb = load(self.path)
            index = self._build(kb)
        except KnowledgeBaseError as exc:
            self.last_error = exc
            log.error("knowledge base not reloaded, keeping the previous one: %s", exc)
            return False
        self.last_error = None
        self._current = Loaded(kb, index)
        log.info("knowledge base reloaded from %s: %d entries", self.path, len(kb.entries))
        return True
