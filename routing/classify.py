"""Message kind: question, complaint, sales lead, callback request or feedback, with the reasons.

The learned classifiers of the language layer (nlp.models, trained on real customers' messages) decide whether a
message is a complaint and which kind it is.  The keyword lexicons below stay as one signal among others: their
score adds log-odds per point (capped at 3 points) to the model's complaint estimate, with a weight per language
chosen on dev splits when the model was trained (or `routing.complaint.lexicon_weight`), so an operator's own entries
(routing.lexicons) can push a message over the line, and they give explicit callback and sales cues ("call me
back", "quote").  With `routing.complaint.detector: lexicon`, or when no model is installed, the lexicon alone
decides, as follows.

Complaint detection by lexicon adds up evidence: lexicon entries weighted strong/medium/weak, negated ones dropped ("not
bad", "ไม่แย่", "بد نیست") and negated praise counted instead ("not happy", "ไม่พอใจ", "راضی نیستم"), entries in a
conditional clause discounted ("if it arrives damaged..."), intensifiers, anger (shouting in capitals, "!!!",
insults, angry emoji, stretched letters) and the customer's history (a second contact about an unresolved issue).
Imports hub.domain only.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from hub.domain import Kind
from nlp.models import Prediction, TextModels
from nlp.smalltalk import recognise as recognise_smalltalk
from nlp.langid import LanguageGuess, detect_language
from routing.lexicon import Entry, Lexicon, default_lexicons
from nlp.normalize import has_elongation, lexicon_form as normalize

COMPLAINT_THRESHOLD = 1.0
_CLAUSE = re.compile(r"[.!?؟,،;:\n()]")
_TOKEN = re.compile(r"[\w'*]+")
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")
_LATIN = re.compile(r"[A-Za-z]")
_BANG = re.compile(r"[!！]{2,}|[!?؟]{3,}")
_QUERY = re.compile(r"[?？؟]")
_ELSEWHERE_WEIGHT = {"all_caps": 0.5, "exclamations": 0.5, "elongation": 0.25, "repeat_contact": 1.0}


@dataclass(frozen=True, slots=True)
class Classification:
    kind: Kind
    language: str
    complaint_score: float
    signals: tuple[str, ...]  # machine-readable: "term:broken", "negated:bad", "all_caps", "repeat_contact", ...
    reasons: tuple[str, ...]  # one sentence per decision, for the ticket's routing trace
    scores: tuple[tuple[str, float], ...] = ()  # per kind, for reports and tuning
    language_reason: str = ""
    complaint_probability: float | None = None  # from the learned model; None when the lexicon alone decided
    detector: str = "lexicon"  # "model:full", "model:lexical" or "lexicon"

    @property
    def is_complaint(self) -> bool:
        return self.kind is Kind.COMPLAINT


@dataclass(frozen=True, slots=True)
class Hit:
    entry: Entry
    start: int
    end: int
    negated: bool
    intensified: bool
    conditional: bool


class Wildcards:
    """Words with `*` wildcards ("*n't", "never*") as one set: a token is tested with three C-level calls instead of
    a Python loop over the words (negators are tested on every token beside every hit)."""

    __slots__ = ("exact", "prefixes", "suffixes")

    def __init__(self, words: Iterable[str]) -> None:
        words = tuple(words)
        self.exact = frozenset(w for w in words if not w.startswith("*") and not w.endswith("*"))
        self.prefixes = tuple(w[:-1] for w in words if w.endswith("*") and not w.startswith("*"))
        self.suffixes = tuple(w[1:] for w in words if w.startswith("*"))

    def any_in(self, tokens: Iterable[str]) -> bool:
        return any(t in self.exact or t.startswith(self.prefixes) or t.endswith(self.suffixes) for t in tokens)


T = TypeVar("T")


def _memo(lex: Lexicon, key: Any, make: Callable[[], T]) -> T:
    """A fact of the lexicon worked out on first use and kept with it (`Lexicon.memo`)."""
    found = lex.memo.get(key)
    if found is None:
        found = lex.memo[key] = make()
    return found  # type: ignore[no-any-return]


def _wildcards(lex: Lexicon, which: str) -> Wildcards:
    return _memo(lex, which, lambda: Wildcards(getattr(lex, which)))


def _tokens_before(text: str, start: int, n: int) -> list[str]:
    clause = _CLAUSE.split(text[:start])[-1]
    return _TOKEN.findall(clause)[-n:] if n else []


def _tokens_after(text: str, end: int, n: int) -> list[str]:
    clause = _CLAUSE.split(text[end:])[0]
    return _TOKEN.findall(clause)[:n]


class Near:
    """Unspaced scripts: is one of these words right before or right after a hit?  One regular expression for
    all the words (longest first) instead of a substring test per word; the same answers as testing each word."""

    __slots__ = ("pattern", "longest")

    def __init__(self, words: Iterable[str]) -> None:
        words = sorted({w for w in words if w}, key=lambda w: (-len(w), w))
        # A lookahead reports, at each position, the longest word there: the one that reaches furthest right.
        self.pattern = re.compile("(?=(" + "|".join(map(re.escape, words)) + "))") if words else None
        self.longest = len(words[0]) if words else 0

    def before(self, text: str, start: int, gap: int) -> bool:
        """Does one of the words end at most `gap` characters before `start`?"""
        if self.pattern is None:
            return False
        lo = max(0, start - self.longest - gap)
        return any(m.start() + len(m.group(1)) >= start - gap for m in self.pattern.finditer(text, lo, start))

    def after(self, text: str, end: int, gap: int) -> bool:
        """Does one of the words start at most `gap` characters after `end`?"""
        if self.pattern is None:
            return False
        m = self.pattern.search(text, end, end + self.longest + gap)
        return m is not None and m.start() - end <= gap


def _near(lex: Lexicon, which: str) -> Near:
    return _memo(lex, ("near", which), lambda: Near(getattr(lex, which)))


def _carries_negation(lex: Lexicon, entry: Entry) -> bool:
    """"nobody", "ไม่ได้รับ", "هیچ کس": the entry is already negative; a negator beside it does not flip it."""
    def work_out() -> bool:
        if lex.unspaced:
            return any(w in entry.text for w in lex.negators)
        tokens = _TOKEN.findall(entry.text)
        return _wildcards(lex, "negators").any_in(tokens) or _wildcards(lex, "negators_after").any_in(tokens)

    return _memo(lex, ("carries_negation", entry.text), work_out)


def _context(lex: Lexicon, text: str, start: int, end: int) -> tuple[bool, bool, bool]:
    """(negated, intensified, conditional) for the entry found at text[start:end].

    `text` has the other hits blanked out, so a negator that belongs to another entry ("never arrived and nobody
    answers") does not negate this one.
    """
    if lex.unspaced:
        window = lex.negation_window
        negated = _near(lex, "negators").before(text, start, window) or _near(lex, "negators_after").after(text, end, 1)
        intensifiers = _near(lex, "intensifiers")
        intensified = intensifiers.before(text, start, 1) or intensifiers.after(text, end, 1)
        conditional = _near(lex, "conditionals").before(text, start, 12)
        return negated, intensified, conditional
    n = lex.negation_window
    preceding = _tokens_before(text, start, max(n, 8))  # one tokenisation for the three windows below
    before, after = preceding[-n:] if n else [], _tokens_after(text, end, n)
    negated = _wildcards(lex, "negators").any_in(before) or _wildcards(lex, "negators_after").any_in(after)
    near = preceding[-2:]
    intensified = any(t in lex.intensifiers for t in near) or any(
        " ".join(near[i:]) in lex.intensifiers for i in range(len(near))
    )
    clause = " " + " ".join(preceding[-8:]) + " "
    conditional = any(f" {c} " in clause for c in lex.conditionals)
    return negated, intensified, conditional


class NeedleIndex:
    """The entries keyed by one two-character piece of their needle, so a message is tested only against the
    entries whose piece it contains: a few dozen substring tests instead of one per entry (several hundred per
    language), which was the larger part of routing a message.

    Every bigram of a needle occurs in any text that contains the needle, so the candidates always include every
    entry `find_hits` would find, in the lexicon's order.  Each needle is keyed by its bigram shared with the fewest
    other needles: a proxy for the rarest in text that keeps the lists short."""

    __slots__ = ("keyed", "always")

    def __init__(self, entries: tuple[Entry, ...]) -> None:
        grams = [{e.needle[i:i + 2] for i in range(len(e.needle) - 1)} for e in entries]
        spread: dict[str, int] = {}
        for g in grams:
            for gram in g:
                spread[gram] = spread.get(gram, 0) + 1
        keyed: dict[str, list[int]] = {}
        always: list[int] = []  # one-character needles
        for i, g in enumerate(grams):
            if g:
                keyed.setdefault(min(g, key=lambda gram: (spread[gram], gram)), []).append(i)
            else:
                always.append(i)
        self.keyed = {gram: tuple(ids) for gram, ids in keyed.items()}
        self.always = tuple(always)

    def candidates(self, text: str) -> list[int]:
        keyed = self.keyed
        found = list(self.always)
        for gram in {text[i:i + 2] for i in range(len(text) - 1)}:
            ids = keyed.get(gram)
            if ids:
                found.extend(ids)
        found.sort()
        return found


def _needles(lex: Lexicon) -> NeedleIndex:
    return _memo(lex, "needles", lambda: NeedleIndex(lex.entries))


def find_hits(lex: Lexicon, text: str) -> list[Hit]:
    """Non-overlapping lexicon hits in normalised `text`, longest entries first."""
    taken: list[tuple[int, int]] = []
    spans: dict[tuple[int, int], list[Entry]] = {}
    entries = lex.entries
    for i in _needles(lex).candidates(text):
        entry = entries[i]
        if entry.needle not in text:
            continue
        for m in entry.pattern.finditer(text):
            span = (m.start(), m.end())
            if span in spans:  # the same words listed in two sections count once in each
                if all(e.category != entry.category for e in spans[span]):
                    spans[span].append(entry)
            elif not any(s < span[1] and span[0] < e for s, e in taken):
                taken.append(span)
                spans[span] = [entry]
    hits = []
    for (start, end), found in sorted(spans.items()):
        blank = text
        for s, e in taken:
            if (s, e) != (start, end) and spans[(s, e)][0].category != "mask":
                blank = blank[:s] + "_" * (e - s) + blank[e:]  # still a word, so distances stay right
        negated, intensified, conditional = _context(lex, blank, start, end)
        hits.extend(
            Hit(e, start, end, negated and not _carries_negation(lex, e), intensified, conditional) for e in found
        )
    return hits


def _anger(original: str, lex: Lexicon) -> list[str]:
    signals = []
    letters = _LATIN.findall(original)
    shouted = _SHOUT.findall(original)
    if len(shouted) >= 2 or (len(letters) >= 12 and sum(map(str.isupper, letters)) / len(letters) >= 0.7):
        signals.append("all_caps")
    if _BANG.search(original):
        signals.append("exclamations")
    if has_elongation(original):
        signals.append("elongation")
    if any(e in original for e in lex.anger_emoji):
        signals.append("anger_emoji")
    return signals


def classify(
    text: str,
    *,
    language_hint: str | None = None,
    repeat_contact: bool = False,
    kind_hint: Kind | str | None = None,
    lexicons: Mapping[str, Lexicon] | None = None,
    threshold: float = COMPLAINT_THRESHOLD,
    models: TextModels | None = None,
    lexicon_weight: float | None = None,
    variant: str | None = None,
) -> Classification:
    """Classify one customer message. `repeat_contact`: the customer already has an unresolved ticket on this."""
    lexicons = lexicons if lexicons is not None else default_lexicons()
    guess: LanguageGuess = detect_language(text, language_hint)
    lex = lexicons.get(guess.code) or lexicons.get("*") or Lexicon(language=guess.code)
    norm = normalize(text, guess.code)
    hits = find_hits(lex, norm)

    signals: list[str] = []
    kind_scores = {"complaint": 0.0, "praise": 0.0, "sales": 0.0, "callback": 0.0, "question": 0.0}
    terms = 0.0
    for hit in hits:
        cat, word = hit.entry.category, hit.entry.text
        boost = 1.5 if hit.intensified else 1.0
        damp = 0.3 if hit.conditional else 1.0
        if cat == "mask":
            continue
        if cat in ("complaint", "insults"):
            if hit.negated:
                signals.append(f"negated:{word}")
                kind_scores["praise"] += 1.0  # "not bad" is faint praise
                continue
            terms += hit.entry.weight * boost * damp
            signals.append(f"{'insult' if cat == 'insults' else 'term'}:{word}")
        elif cat == "when_negated":
            if hit.negated:
                terms += 1.0 * damp
                signals.append(f"negated_action:{word}")
        elif cat == "praise":
            if hit.negated:
                terms += 1.0 * boost * damp
                signals.append(f"negated_praise:{word}")
            else:
                kind_scores["praise"] += boost
        elif not hit.negated:
            kind_scores[cat] += 1.0
        if hit.intensified and cat in ("complaint", "insults", "praise"):
            signals.append(f"intensified:{word}")
        if hit.conditional and cat in ("complaint", "when_negated", "praise"):
            signals.append(f"conditional:{word}")
    kind_scores["praise"] += sum(e in text for e in lex.praise_emoji)

    anger = _anger(text, lex)
    if repeat_contact:
        anger.append("repeat_contact")
    extra = sum(_ELSEWHERE_WEIGHT.get(s, 1.0) for s in anger)
    signals.extend(anger)
    if terms > 0 and kind_scores["praise"] >= 1:
        signals.append("praise_with_complaint")  # "great, another week without my parcel": sarcasm, not thanks
        score = terms + extra
    else:
        # Shouting "THANK YOU!!!" or writing again to say it worked is not a complaint.
        score = max(0.0, terms + extra - 0.5 * kind_scores["praise"])
    if _QUERY.search(text):
        kind_scores["question"] += 1.0
    kind_scores["complaint"] = round(score, 3)

    prob: float | None = None
    detector = "lexicon"
    chat = recognise_smalltalk(text, guess.code) if not terms else None
    if chat is not None:
        # "hi", "thanks", "ok bye": too short for any model to read, and never a complaint.
        kind = Kind.FEEDBACK if chat == "thanks" and not kind_hint else Kind(kind_hint) if kind_hint else Kind.QUESTION
        why = f"{kind.value}: small talk ({chat}), not a complaint"
        prob = 0.0 if models is not None else None
    elif models is not None and text.strip():
        lang = guess.code if guess.code in ("th", "fa", "ar") else "en"
        points = min(score, 3.0)
        if lexicon_weight is None:  # the weight the thresholds were chosen with
            pred = models.predict(text, lang, variant, signal=points)
            nudge = models.signal_weight(lang, pred.variant) * points
        else:
            pred = models.predict(text, lang, variant)
            nudge = lexicon_weight * points
            pred = replace(pred, logit=pred.logit + nudge)
        prob, kind, why = _decide_model(pred, nudge, kind_scores, kind_hint)
        detector = f"model:{pred.variant}"
    else:
        kind, why = _decide(kind_scores, threshold, kind_hint)
    reasons = [f"language {guess.code}: {guess.reason}", why]
    return Classification(
        kind=kind,
        language=guess.code,
        complaint_score=round(score, 3),
        signals=tuple(signals),
        reasons=tuple(reasons),
        scores=tuple(sorted(kind_scores.items())),
        language_reason=guess.reason,
        complaint_probability=prob,
        detector=detector,
    )


def _decide_model(pred: Prediction, nudge: float, cues: Mapping[str, float],
                  hint: Kind | str | None) -> tuple[float, Kind, str]:
    """(complaint probability, kind, why) from the learned model with the lexicon as one signal (in `pred.logit`)."""
    z = pred.logit
    prob = 1.0 / (1.0 + math.exp(-max(min(z, 40.0), -40.0)))
    extra = f" incl. lexicon +{nudge:.2f}" if nudge else ""
    if prob >= pred.threshold:
        return prob, Kind.COMPLAINT, f"complaint: model p={prob:.2f}{extra} >= {pred.threshold:.2f} ({pred.variant})"
    if hint:
        return prob, Kind(hint), f"{Kind(hint).value}: given by the channel; complaint p={prob:.2f}"
    # Explicit cues name what the customer asks for ("call me back", "a quote for 50 units"): they win over the
    # model's guess between the calmer kinds, which has little callback data to learn from.
    if cues["callback"] >= 1:
        return prob, Kind.CALLBACK, f"callback: {cues['callback']:g} cue(s); complaint p={prob:.2f}"
    if cues["sales"] >= 1:
        return prob, Kind.SALES, f"sales: {cues['sales']:g} cue(s); complaint p={prob:.2f}"
    calm = {k: v for k, v in pred.kind_probs.items() if k != "complaint"}
    best = max(calm, key=lambda k: calm[k]) if calm else "question"
    if best == "feedback" and cues["question"] >= 1:
        best = "question"  # praise with a question mark is still a question to answer
    return prob, Kind(best), f"{best}: model {calm.get(best, 0):.2f}; complaint p={prob:.2f} < {pred.threshold:.2f}"


def _decide(scores: Mapping[str, float], threshold: float, hint: Kind | str | None) -> tuple[Kind, str]:
    # A complaint outranks everything: it is the message that must not wait in the wrong queue.
    if scores["complaint"] >= threshold:
        return Kind.COMPLAINT, f"complaint: score {scores['complaint']:.2f} >= {threshold:.2f}"
    if hint:
        return Kind(hint), f"{Kind(hint).value}: given by the channel"
    for cat, kind in (("callback", Kind.CALLBACK), ("sales", Kind.SALES), ("question", Kind.QUESTION)):
        if scores[cat] >= 1:
            return kind, f"{kind.value}: {scores[cat]:g} cue(s); complaint score {scores['complaint']:.2f}"
    if scores["praise"] >= 1:
        return Kind.FEEDBACK, f"feedback: praise/thanks ({scores['praise']:g}) and no request"
    return Kind.QUESTION, "question: no complaint, sales, callback or feedback cues (default)"
