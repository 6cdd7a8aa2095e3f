"""SMS text: encoding and segment count, folding Vietnamese to GSM-7, fitting a segment budget.

Pure functions shared by both SMS providers (Twilio and the generic gateway).

* `measure(text)` says how a text travels: GSM-7 when every character is in the
  GSM 03.38 basic table or its extension table (extension characters cost two
  septets), otherwise UCS-2 (UTF-16 code units; characters outside the BMP cost
  two). One segment holds 160 septets / 70 units; a concatenated message holds
  153 / 67 per segment, and an escape pair or surrogate pair is never split
  across segments.
* `to_gsm7(text)` drops Vietnamese tone marks (đ → d) and maps typographic
  punctuation (« » “ ” • – …) to GSM-7; anything else becomes "?".
* `sms_text(reply, ...)` renders one neutral reply (its `sms_text` form when it has
  one) as SMS text: options become
  numbered lines, "bấm" (press) becomes "nhắn" (text), location/contact
  requests become plain prompts, and the result is shortened to the segment
  budget. Shortening drops, in this order: politeness and hints, the "answer
  with a number" line, plain sentences (from the end, the last one cut at a
  word), sentences carrying numbers (kept whole with all their numbers, or
  dropped whole), and finally option lines from the end. A report code or any
  other number is therefore never cut in half.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.messages import Reply
from channels.base import without_diacritics

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
SINGLE = {"GSM-7": 160, "UCS-2": 70}
CONCATENATED = {"GSM-7": 153, "UCS-2": 67}
MAX_SEGMENTS = 10
MIN_HEAD_WORDS = 3  # a cut sentence keeps at least this many words, or goes

OPTIONS_HINT = "Trả lời bằng số thứ tự."
LOCATION_HINT = "Nhắn địa chỉ trong tin trả lời."
CONTACT_HINT = "Nhắn số điện thoại trong tin trả lời."
_WORDING = (("bấm", "nhắn"), ("Bấm", "Nhắn"), ("BẤM", "NHẮN"))

_PUNCTUATION = str.maketrans(
    {
        "«": '"',
        "»": '"',
        "“": '"',
        "”": '"',
        "„": '"',
        "‘": "'",
        "’": "'",
        "•": "-",
        "·": "-",
        "–": "-",
        "—": "-",
        "…": "...",
        "\u00a0": " ",
        "\t": " ",
        "\u200b": "",
    }
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_POLITE = re.compile(r"^(xin )?(cam on|chuc|chao|tran trong|xin loi|rat mong)\b")


@dataclass(frozen=True)
class SmsLength:
    """How a text travels by SMS: its encoding, size in septets or UTF-16 units, segments."""

    encoding: Encoding
    units: int
    segments: int


def measure(text: str) -> SmsLength:
    if all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text):
        return _count("GSM-7", [2 if ch in GSM7_EXTENSION else 1 for ch in text])
    return _count("UCS-2", [2 if ord(ch) > 0xFFFF else 1 for ch in text])


def _count(encoding: Encoding, sizes: Sequence[int]) -> SmsLength:
    units = sum(sizes)
    if units <= SINGLE[encoding]:
        return SmsLength(encoding, units, 1)
    per_segment, segments, used = CONCATENATED[encoding], 1, 0
    for size in sizes:
        if used + size > per_segment:
            segments, used = segments + 1, 0
        used += size
    return SmsLength(encoding, units, segments)


def max_chars(segments: int, encoding: Encoding = "GSM-7") -> int:
    """The most single-unit characters `segments` segments can carry."""
    return SINGLE[encoding] if segments == 1 else segments * CONCATENATED[encoding]


def fits(text: str, segments: int) -> bool:
    if len(text) > max_chars(segments):  # cheap refusal: no character costs less than one unit
        return False
    return measure(text).segments <= segments


def to_gsm7(text: str) -> str:
    """The text in the GSM-7 alphabet: no diacritics, plain punctuation, "?" for the rest."""
    folded = without_diacritics(unicodedata.normalize("NFC", text)).translate(_PUNCTUATION)
    return "".join(_gsm_char(ch) for ch in folded)


def _gsm_char(ch: str) -> str:
    if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
        return ch
    ascii_form = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode()
    if ascii_form and all(c in GSM7_BASIC for c in ascii_form):
        return ascii_form
    return "?"


@dataclass(frozen=True)
class _Piece:
    """A sentence or line of the message; lower ranks give way first."""

    text: str
    line: int
    rank: int
    atomic: bool  # dropped whole, never shortened


POLITE, OPTIONS_NOTE, PLAIN, NUMBERS, OPTION = range(5)


def sms_text(
    reply: Reply, *, segments: int = 3, diacritics: bool = False, image_urls: bool = False
) -> str:
    """The reply as one SMS of at most `segments` segments.

    With `diacritics`, the accented text is kept when it fits the budget in
    UCS-2; otherwise (and by default) it goes without diacritics in GSM-7,
    which carries more than twice as many characters a segment.
    """
    pieces = _pieces(reply, image_urls)
    if diacritics:
        accented = _join(pieces)
        if fits(accented, segments):
            return accented
    folded = [
        _Piece(to_gsm7(p.text).strip(), p.line, p.rank, p.atomic) for p in pieces if p.text.strip()
    ]
    return _shorten(folded, segments)


def _pieces(reply: Reply, image_urls: bool) -> list[_Piece]:
    text = unicodedata.normalize("NFC", reply.sms_text or reply.text)
    for word, sms_word in _WORDING:
        text = re.sub(rf"\b{word}\b", sms_word, text)
    pieces: list[_Piece] = []
    line = -1
    for line, raw in enumerate(text.splitlines()):
        pieces.extend(_Piece(s, line, _rank(s), _rank(s) == POLITE) for s in _sentences(raw))
    for wanted, hint in ((reply.ask_location, LOCATION_HINT), (reply.ask_contact, CONTACT_HINT)):
        if wanted:
            pieces.append(_Piece(hint, max(line, 0), POLITE, True))
    if reply.image and image_urls:
        line += 1
        pieces.append(_Piece(reply.image, line, POLITE, True))
    for number, button in enumerate(reply.buttons, 1):
        line += 1
        title = " ".join(button.title.split())
        pieces.append(_Piece(f"{number}. {title}", line, OPTION, True))
    if reply.buttons:
        pieces.append(_Piece(OPTIONS_HINT, line + 1, OPTIONS_NOTE, True))
    return pieces


def _sentences(line: str) -> list[str]:
    return [s for s in _SENTENCE_END.split(line.strip()) if s]


def _rank(sentence: str) -> int:
    if _has_digit(sentence):  # even a polite sentence keeps a report code
        return NUMBERS
    return POLITE if _POLITE.match(without_diacritics(sentence).lower()) else PLAIN


def _has_digit(text: str) -> bool:
    return any(ch.isdigit() for ch in text)


def _join(pieces: Iterable[_Piece | None]) -> str:
    lines: dict[int, list[str]] = {}
    for piece in pieces:
        if piece is not None and piece.text:
            lines.setdefault(piece.line, []).append(piece.text)
    return "\n".join(" ".join(parts) for _, parts in sorted(lines.items()))


def _shorten(pieces: Sequence[_Piece], segments: int) -> str:
    """Drop and cut pieces, lowest rank and last first, until the text fits `segments`."""
    kept: list[_Piece | None] = list(pieces)
    if fits(_join(kept), segments):
        return _join(kept)
    for rank in sorted({p.rank for p in pieces}):
        for index in reversed(range(len(kept))):
            piece = kept[index]
            if piece is None or piece.rank != rank:
                continue
            kept[index] = _cut(kept, index, segments)
            text = _join(kept)
            if text and fits(text, segments):
                return text
    return _hard_cut(_join(pieces), segments)


def _cut(kept: list[_Piece | None], index: int, segments: int) -> _Piece | None:
    """The longest head of piece `index` that lets the message fit, or None to drop it."""
    piece = kept[index]
    assert piece is not None
    if piece.atomic or not fits(_join(kept[:index] + kept[index + 1 :]), segments):
        return None
    words = piece.text.split()
    digits = [i for i, w in enumerate(words) if _has_digit(w)]
    shortest = max(digits[-1] + 1 if digits else 1, MIN_HEAD_WORDS)  # no number left behind

    def head(n: int) -> _Piece:
        return _Piece(_ellipsis(words[:n]), piece.line, piece.rank, piece.atomic)

    def fits_with(n: int) -> bool:
        return fits(_join([*kept[:index], head(n), *kept[index + 1 :]]), segments)

    n = _longest(shortest, len(words) - 1, fits_with)
    return head(n) if n else None


def _longest(low: int, high: int, ok: Callable[[int], bool]) -> int:
    """The largest n in [low, high] with ok(n), for ok true up to some n; 0 when none."""
    best = 0
    while low <= high:
        middle = (low + high) // 2
        if ok(middle):
            best, low = middle, middle + 1
        else:
            high = middle - 1
    return best


def _ellipsis(words: Sequence[str]) -> str:
    head = " ".join(words).rstrip(",;:-")
    return f"{head} ..." if _has_digit(words[-1]) else f"{head}..."


def _hard_cut(text: str, segments: int) -> str:
    """Last resort: the longest run of whole words that fits, else of characters."""
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    words = _longest(1, len(ends), lambda n: fits(text[: ends[n - 1]], segments))
    if words:
        return text[: ends[words - 1]]
    chars = _longest(1, min(len(text), max_chars(segments)), lambda n: fits(text[:n], segments))
    return text[:chars].rstrip()  # not even one word fits: a word longer than the budget
