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
from collections.abc import Mapping
from dataclasses import dataclass, replace

from hub.domain import Kind
from nlp.models import Prediction, TextModels
from nlp.smalltalk import recognise as recognise_smalltalk
from nlp.langid import LanguageGuess, detect_language
from routing.lexicon import Lexicon, default_lexicons
from routing.lexicon_scan import find_hits
from nlp.normalize import has_elongation, lexicon_form as normalize

COMPLAINT_THRESHOLD = 1.0
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
