"""Thai word segmentation by dictionary maximal matching.

Thai is written without spaces between words.  The matcher relies mostly on character n-grams, which need no
segmentation at all; this light segmenter adds whole-word features for the words it knows (bots/data/thai_words.txt)
and drops politeness particles and function words that say nothing about the topic.  Imports only the standard
library.
"""
from __future__ import annotations

from functools import lru_cache
from importlib import resources

__all__ = ["segment", "STOPWORDS"]

# Particles and function words: present in almost every message, so they only add noise.
STOPWORDS = frozenset(
    """ครับ คับ ครับผม ค่ะ คะ ค่า จ้า จ้ะ จ๊ะ นะ น่ะ นะคะ นะครับ ฮะ ฮับ อะ อ่ะ เลย ด้วย หน่อย ของ และ ก็ ผม ฉัน ดิฉัน
    หนู เรา คุณ พี่ แอดมิน แอด สวัสดี ขอบคุณ อยาก อยากจะ จะ ว่า คือ แล้ว รบกวน สอบถาม ถาม ขอ ทราบ กรุณา ช่วย ให้
    กับ ใน นี้ นั้น นี่ เป็น อยู่ หน่อย บ้าง ทาง""".split()
)

# A word cannot end right before a following vowel, tone mark or other combining sign: those belong to the
# consonant before them.  Leading vowels (เ แ โ ใ ไ) cannot end a word.
_FOLLOWING = frozenset(chr(c) for c in [0x0E30, 0x0E31, 0x0E32, 0x0E33, *range(0x0E34, 0x0E3B), *range(0x0E45, 0x0E4F)])
_LEADING = frozenset("เแโใไ")


@lru_cache(maxsize=1)
def _trie() -> dict[str, dict]:
    root: dict[str, dict] = {}
    text = resources.files("bots").joinpath("data/thai_words.txt").read_text(encoding="utf-8")
    for line in text.splitlines():
        word = line.split("#", 1)[0].strip()
        if not word:
            continue
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}  # end-of-word marker
    return root


def _can_end(text: str, j: int) -> bool:
    return (j == len(text) or text[j] not in _FOLLOWING) and text[j - 1] not in _LEADING


def _segment_run(text: str) -> list[str]:
    """Maximal matching on one space-free run: fewest unknown characters, then fewest words."""
    n = len(text)
    trie = _trie()
    inf = (n + 1, n + 1)
    # best[i] = (unknown chars, words) for text[i:], with the next cut in nxt[i] and whether text[i:nxt] is known.
    best: list[tuple[int, int]] = [inf] * (n + 1)
    nxt = [n] * (n + 1)
    known = [False] * (n + 1)
    best[n] = (0, 0)
    for i in range(n - 1, -1, -1):
        node = trie
        j = i
        while j < n and text[j] in node:
            node = node[text[j]]
            j += 1
            if "" in node and _can_end(text, j):
                u, w = best[j]
                cand = (u, w + 1)
                if cand < best[i]:
                    best[i], nxt[i], known[i] = cand, j, True
        # Fall back to one unknown character, glued to the next unknown piece afterwards.
        u, w = best[i + 1]
        cand = (u + 1, w + 1)
        if cand < best[i]:
            best[i], nxt[i], known[i] = cand, i + 1, False
    out: list[str] = []
    i = 0
    pending = ""
    while i < n:
        j = nxt[i]
        if known[i]:
            if pending:
                out.append(pending)
                pending = ""
            out.append(text[i:j])
        else:
            pending += text[i:j]
        i = j
    if pending:
        out.append(pending)
    return out


def segment(text: str, keep_stopwords: bool = False) -> list[str]:
    """Split normalised Thai (and any mixed-in Latin words) into word tokens, stopwords removed by default."""
    out: list[str] = []
    for run in text.split():
        for tok in _segment_run(run) if any("\u0e00" <= c <= "\u0e7f" for c in run) else [run]:
            if keep_stopwords or tok not in STOPWORDS:
                out.append(tok)
    return out
