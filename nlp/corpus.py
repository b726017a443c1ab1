"""The labelled material the classifiers learn from, read from documented public sources (DATA.md).

Each source becomes `Example`s with a language, a ticket kind and a split.  Sources that come without a dev split
get a deterministic one from a hash of the text (train 80%, dev 10%, test 10%), so every run and every machine
draws the same lines and a text never lands in two splits.  Thresholds are tuned on `dev` only; `test` is for the
figures in BENCHMARKS.md.  File checksums are recorded in SOURCES below and checked before training, so a model is
only ever retrained from the material it documents.

Imports the standard library only.
"""
from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Example", "SOURCES", "load", "split_of", "verify", "KINDS"]

KINDS = ("question", "complaint", "sales", "callback", "feedback")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    lang: str
    kind: str | None  # None: usable for complaint detection only (not a customer request of any kind)
    complaint: bool
    source: str
    split: str  # train | dev | test


def split_of(text: str) -> str:
    h = int.from_bytes(hashlib.blake2b(text.strip().encode("utf-8"), digest_size=4).digest(), "big") % 10
    return "dev" if h == 0 else "test" if h == 1 else "train"


# file (relative to the data folder) -> sha256 of its bytes, as documented in DATA.md
SOURCES: dict[str, str] = {
    "wisesight-th/neg.txt": "63715e8c25e46731e88c3b0eda9e504866476e279c3d0654564ab95832748f2c",
    "wisesight-th/neu.txt": "b06d4b426d708c3884e80864ed035d516ea0901f9e1e3b23413968453eb2dde1",
    "wisesight-th/pos.txt": "7744221616b4c19b5c62466dc33acff622bd5614e9e7d549599cf9bfc40844e2",
    "wisesight-th/q.txt": "920e568425dc107e3fd23307734f30405f704f28da073ba1c568478e9c45f017",
    "truevoice-th/mari_train.csv": "2864fafba3d88a96d666f31784e1c5c77b9c24196032e4f0bb6779f141e5b537",
    "bitext-en/TrainingdatasetBitextsample.csv": "40181754755eba808aa949e8d67b65d2923a37b3cb56786705592ef66f45c4ff",
    "banking77-en/train.csv": "b06e26ac675513959a63135f11b94ea7786ed02da65db93a5650d8838cbc664b",
    "banking77-en/test.csv": "d12d6e3bc4c3103966ae786dc435913c0c563dfa328f5a3646d0e62cfeeb474d",
    "clinc150-en/train_val.json": "89c77f8722787c36e52954fd90bb3f9f537f716801db4d604efeef32a8cdd09f",
}

# Intents whose messages report that something went wrong for the customer: complaints in a helpdesk's sense
# ("my card was charged twice"), even when politely worded.  The rest of each set are plain requests.
BANKING77_PROBLEMS = frozenset(
    """Refund_not_showing_up balance_not_updated_after_bank_transfer balance_not_updated_after_cheque_or_cash_deposit
    card_not_working card_payment_not_recognised card_payment_wrong_exchange_rate card_swallowed
    cash_withdrawal_not_recognised compromised_card contactless_not_working declined_card_payment
    declined_cash_withdrawal declined_transfer direct_debit_payment_not_recognised extra_charge_on_statement
    failed_transfer lost_or_stolen_card lost_or_stolen_phone pin_blocked top_up_failed top_up_reverted
    transaction_charged_twice transfer_not_received_by_recipient unable_to_verify_identity virtual_card_not_working
    wrong_amount_of_cash_received wrong_exchange_rate_for_cash_withdrawal reverted_card_payment?""".split()
)
CLINC_PROBLEMS = frozenset("damaged_card report_fraud card_declined lost_luggage report_lost_card account_blocked".split())
# clinc150 domains that are not customer service at all (a voice assistant's chit-chat and gadgets): left out of
# the kind model, kept as negatives for complaint detection.
CLINC_OFF_DOMAIN = frozenset({"small_talk", "meta", "utility", "home", "kitchen_and_dining", "auto_and_commute"})
BITEXT_KIND = {"complaint": "complaint", "review": "feedback", "place_order": "sales"}
TRUEVOICE_KIND = {"report": "complaint", "cancel": "complaint", "buy": "sales"}


def verify(data_dir: Path) -> dict[str, str]:
    """sha256 of every source file present; raises ValueError when a recorded checksum does not match."""
    out: dict[str, str] = {}
    for rel, expected in SOURCES.items():
        path = data_dir / rel
        if not path.exists():
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if expected and digest != expected:
            raise ValueError(f"{rel}: sha256 {digest} differs from the documented {expected}")
        out[rel] = digest
    return out


def _wisesight(d: Path) -> Iterator[Example]:
    labels = {"neg": ("complaint", True), "neu": (None, False), "pos": ("feedback", False), "q": ("question", False)}
    for name, (kind, complaint) in labels.items():
        for line in (d / "wisesight-th" / f"{name}.txt").read_text(encoding="utf-8").splitlines():
            text = line.strip()
            if len(text) >= 2:
                yield Example(text, "th", kind, complaint, "wisesight", split_of(text))


def _truevoice(d: Path) -> Iterator[Example]:
    with open(d / "truevoice-th" / "mari_train.csv", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            text, action = row["texts"].strip(), row["action"].strip()
            if not text or action == "garbage":
                continue
            kind = TRUEVOICE_KIND.get(action, "question")
            yield Example(text, "th", kind, kind == "complaint", "truevoice", split_of(text))


def _keep(text: str, one_in: int) -> bool:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=2).digest()[1] % one_in == 0


def _bitext(d: Path) -> Iterator[Example]:
    with open(d / "bitext-en" / "TrainingdatasetBitextsample.csv", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            text = row["utterance"].strip()
            # Generated variations of 27 intents: a quarter of them says all the set has to say, at a quarter of
            # the embedding time.  Its rare intents are kept whole.
            if row["intent"] not in BITEXT_KIND and not _keep(text, 4):
                continue
            kind = BITEXT_KIND.get(row["intent"], "question")
            yield Example(text, "en", kind, kind == "complaint", "bitext", split_of(text))


def _banking77(d: Path) -> Iterator[Example]:
    for name, split in (("train.csv", None), ("test.csv", "test")):
        with open(d / "banking77-en" / name, encoding="utf-8") as f:
            for row in csv.DictReader(f):
                text = row["text"].strip()
                problem = row["category"] in BANKING77_PROBLEMS
                kind = "complaint" if problem else "question"
                # The set's own test split stays test; its train split is cut into train and dev.
                s = split or ("dev" if split_of(text) != "train" else "train")
                yield Example(text, "en", kind, problem, "banking77", s)


def _clinc(d: Path) -> Iterator[Example]:
    data = json.loads((d / "clinc150-en" / "train_val.json").read_text(encoding="utf-8"))
    domains = json.loads((d / "clinc150-en" / "domains.json").read_text(encoding="utf-8"))
    off = {i for dom, intents in domains.items() if dom in CLINC_OFF_DOMAIN for i in intents}
    for part, split in (("train", "train"), ("val", "dev"), ("oos_train", "train"), ("oos_val", "dev")):
        for text, intent in data[part]:
            if part == "train" and intent not in CLINC_PROBLEMS and not _keep(text, 3):
                continue  # 100 phrasings per intent: a third is plenty for "not a complaint"
            problem = intent in CLINC_PROBLEMS
            kind = None if intent in off or intent == "oos" else ("complaint" if problem else "question")
            yield Example(text, "en", kind, problem, "clinc150", split)


def _own(corpus: Path) -> Iterator[Example]:
    """The project's own labelled Persian messages (nlp/corpus/fa_messages.tsv): half train, a quarter dev, a
    quarter test (a small set needs larger held-out parts for its figures to mean anything)."""
    path = corpus / "fa_messages.tsv"
    if not path.exists():
        return
    with open(path, encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            text, kind = row["text"].strip(), row["kind"].strip()
            if not text or kind not in KINDS:
                continue
            q = quarter(text)
            split = "dev" if q == 0 else "test" if q == 1 else "train"
            yield Example(text, "fa", kind, row["complaint"].strip() == "1", "fa-own", split)


def quarter(text: str) -> int:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=1).digest()[0] % 4


LOADERS = {"wisesight": _wisesight, "truevoice": _truevoice, "bitext": _bitext, "banking77": _banking77,
           "clinc150": _clinc}


def load(data_dir: Path, corpus_dir: Path | None = None) -> list[Example]:
    """Every example of every source found under `data_dir` (and the project's own corpus)."""
    out: list[Example] = []
    for name, loader in LOADERS.items():
        try:
            out.extend(loader(data_dir))
        except FileNotFoundError:
            continue
    if corpus_dir is not None:
        out.extend(_own(corpus_dir))
    seen: set[tuple[str, str]] = set()
    unique = []
    for ex in out:  # the same text labelled twice would leak between splits and weigh double
        key = (ex.text, ex.source)
        if key not in seen:
            seen.add(key)
            unique.append(ex)
    return unique
