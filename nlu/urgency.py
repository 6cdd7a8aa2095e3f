"""Urgency: is there danger to life or property right now?

Owns the high-recall urgency decision. Two detectors, OR-combined, because
missing an urgent report is far worse than a false alarm:

1. Rules: phrase patterns per danger (fire, collapse, live wire, open
   manhole, landslide/flash flood, accident with injured, people trapped,
   explosion/gas, violence with weapons, poisoning, calls for help). Each
   pattern is written once with diacritics; every accented word also matches
   its unaccented spelling, so "cháy nhà" and "chay nha" both hit while
   "chạy xe" does not. Words that are ambiguous without accents ("chay" is
   also "chạy", "sap" is also "sắp") get an explicit unaccented pattern with
   context. A hit preceded by a hedge ("dễ gây tai nạn", "nguy cơ", "trước
   khi") does not count for the hedgeable dangers.
2. A calibrated classifier trained on `urgency.yml` (`urgent`/`not_urgent`,
   plus the dialogue examples of `intents.yml` as `not_urgent`), at a
   threshold of 0.7: on the held-out set, OR-ed with the rules, it keeps
   urgent recall at 1.0 (0.98 without diacritics) while 0.5 only adds false
   alarms.

`urgent_reasons` lists the stable reason ids ("fire", "collapse", ...,
"classifier"), for staff-facing wording elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nlu.normalize import strip_diacritics
from nlu.training_data import Example, TrainingData
from nlu.types import INTENT_REPORT, INTENTS

URGENT = "urgent"
NOT_URGENT = "not_urgent"
LABELS = (URGENT, NOT_URGENT)
DEFAULT_THRESHOLD = 0.7

_HEDGE = re.compile(
    r"(?:dễ|de|nguy cơ|nguy co|có thể|co the|sợ|so|lo|e là|trước khi|truoc khi|kẻo|keo|"
    r"tránh|tranh|tiềm ẩn|tiem an|phòng|phong|nếu|neu|chưa|chua|không để|khong de|"
    r"gây|gay|rình rập|rinh rap|coi chừng|coi chung|hay|thường|thuong)\W+(?:\w+\W+){0,3}$"
)


@dataclass(frozen=True)
class Rule:
    reason: str
    accented: str  # written with diacritics; accented words also match unaccented
    unaccented: str | None = None  # replaces the derived unaccented pattern
    hedgeable: bool = False


_NOT_COLLAPSE = r"(?! (?:bê tông|rác|đất|trộm|xà bần|nước|thải|tràn|dầu|xăng|lỗi|bệnh))"

RULES: tuple[Rule, ...] = (
    Rule(
        "fire",
        r"cháy|hỏa hoạn|bốc lửa|bén lửa|ngọn lửa|lửa bốc|lửa cháy|chập điện|chập cháy|"
        r"chữa cháy|cứu hỏa",
        r"chay (?:nha|rung|lon|du doi|ngun|lan|kho|cho|quan|tiem|xuong|bai|ray|rom|"
        r"nha may|cua hang|cong ty|dong co|tram|tru|cot|day|rui)|"
        r"(?:dam|vu|bi|(?<!xe )dang|bat|boc|phat|chap|ngon lua|khoi|lua|vua|da|cuu|chua) chay|"
        r"hoa hoan|boc lua|ben lua|ngon lua|lua boc|chap dien|cuu hoa",
    ),
    Rule(
        "collapse",
        rf"sập|sụp|đổ ập|đổ sập|đè (?:lên |trúng )?(?:người|nhà|xe|chết)|nứt toác|"
        rf"(?:tường|nhà|cầu|giàn giáo|mái|trần|cây|cột|biển|bảng)\W+(?:\w+\W+){{0,3}}"
        rf"(?:đổ{_NOT_COLLAPSE}|ngã|gãy|bật gốc)",
        r"(?:nha|tuong|cau|tran|mai|ham|gian giao|cong trinh|lo|nha tro|chung cu)"
        r"\W+(?:\w+\W+){0,3}sap\b|sap (?:do|xuong|nha|cau|tuong|tran|mai|ham)|sup|do sap|"
        r"do ap|de (?:len |trung )?(?:nguoi|nha|xe|chet)|nut toac|"
        r"(?:tuong|nha|cau|gian giao|mai|tran|cay|cot|bien|bang)\W+(?:\w+\W+){0,3}"
        r"(?:do sap|do xuong|do ra|nga|gay|bat goc)\b",
    ),
    Rule(
        "live_wire",
        r"điện giật|giật điện|rò điện|rò rỉ điện|tia lửa điện|xẹt điện|"
        r"nổ (?:điện|trạm|bình điện)|"
        r"dây điện\W+(?:\w+\W+){0,3}(?:đứt|rơi|rớt|chạm|sà|tóe|xẹt|chập|nằm|thòng)|"
        r"(?:trụ|cột) điện\W+(?:\w+\W+){0,2}(?:ngã|đổ|gãy|sập)",
    ),
    Rule(
        "open_manhole",
        r"(?:mất|không có|hở|bể|vỡ|gãy|sụp|bung|hỏng|lật|thủng|trộm)\W+(?:\w+\W+){0,1}"
        r"nắp (?:cống|hố ga|ga|hầm|bể)|(?:hố ga|miệng cống|nắp cống)\W+(?:\w+\W+){0,3}"
        r"(?:mất nắp|hở|không nắp|không có nắp|bể|vỡ|sụp|há)|hố tử thần|hố sâu giữa đường|"
        r"lỗ thủng giữa đường",
    ),
    Rule(
        "landslide",
        r"sạt|lở đất|lở núi|đất lở|núi lở|đất đá (?:tràn|lấp|vùi|lăn|rơi)|đá lăn|sụt lún|"
        r"hố sụt|lũ quét|lũ ống|lũ dữ|vỡ đê|vỡ đập|vỡ bờ|tràn đê|tràn bờ|xả lũ|lũ lên|nước lũ|"
        r"lốc xoáy|vòi rồng|giông lốc|sét đánh",
        r"sat lo|sat nui|sat ta luy|sat bo|sat dat|sat lun|lo nui|nui lo|dat lo|"
        r"lo dat (?:vui|lap|tran|sap|chan|do|de)|dat da (?:tran|lap|vui|lan|roi)|da lan|"
        r"sut lun|ho sut|lu quet|lu ong|lu du|vo de|vo dap|vo bo|tran de|tran bo|xa lu|"
        r"lu len|nuoc lu|loc xoay|voi rong|giong loc|set danh",
    ),
    Rule(
        "injury",
        r"tai nạn|bị thương|thương vong|tử vong|chết người|làm chết|bị chết|"
        r"(?:người|ai|em|bé|cháu|ông|bà|anh|chị|nạn nhân|công nhân|học sinh)\W+"
        r"(?:\w+\W+){0,2}chết|bất tỉnh|chảy máu|đổ máu|gãy xương|cấp cứu|nguy kịch|mất tích",
        hedgeable=True,
    ),
    Rule(
        "trapped",
        r"mắc kẹt|kẹt lại|bị kẹt trong|kẹt trong|kẹt bên|mắc lại|bị cô lập|cô lập|chết đuối|"
        r"đuối nước|chìm|lật (?:xuồng|ghe|thuyền|đò|tàu)|cuốn trôi|nước cuốn|trôi mất|"
        r"ngập (?:tới|đến|ngang|quá) (?:ngực|cổ|nóc|mái|đầu|cửa sổ)|ngập sâu|ngập nóc|"
        r"nước (?:dâng|lên) (?:nhanh|cao|rất nhanh)|không thoát ra|leo lên mái",
    ),
    Rule(
        "explosion",
        r"nổ|phát nổ|rò (?:rỉ )?(?:khí|gas|ga)|xì gas|xì ga|mùi gas|mùi khí gas|"
        r"hóa chất (?:rò|tràn|đổ)|khí độc|xì khí",
        r"phat no|no (?:lon|tung|binh|tram|dien|bom|min|ga|gas|nha)|tieng no|vu no|"
        r"ro (?:ri )?(?:khi|gas|ga)|xi gas|xi ga|mui gas|mui khi gas|hoa chat (?:ro|tran|do)|"
        r"khi doc|xi khi",
    ),
    Rule(
        "violence",
        r"đâm chém|chém nhau|đâm nhau|đâm người|chém người|hung khí|cầm dao|mang dao|mã tấu|"
        r"súng|bắn nhau|nổ súng|bắt cóc|truy sát|đánh hội đồng|đang đánh nhau|đánh nhau dữ|"
        r"cướp|hành hung|bạo hành|đánh đập|xâm hại|dọa giết|đòi giết|dọa đánh",
        hedgeable=True,
    ),
    Rule("poisoning", r"ngộ độc|co giật|sùi bọt|nôn ói hàng loạt", hedgeable=True),
    Rule(
        "emergency",
        r"(?<!làn )khẩn cấp|cứu với|cứu giúp|cứu người|cứu mạng|kêu cứu|cứu tôi|cứu em|"
        r"nguy hiểm (?:đến|tới) tính mạng|đe dọa tính mạng|gọi 11[345]|\b11[345]\b|"
        r"sơ tán|di dời khẩn|bị bỏ rơi|bỏ (?:một mình|đói)",
        r"(?<!lan )khan cap|cuu voi|cuu giup|cuu nguoi|cuu mang|keu cuu|cuu toi|cuu em|"
        r"nguy hiem (?:den|toi) tinh mang|de doa tinh mang|goi 11[345]|\b11[345]\b|"
        r"so tan|di doi khan|bi bo roi|bo (?:mot minh|doi)",
    ),
)


# Unaccented spellings that are everyday words of their own ("do" = because,
# "no" = full, "chay" = vegetarian): an accented pattern word never matches them.
# fmt: off
_PLAIN_WORDS = frozenset((
    "an", "ba", "bi", "bo", "ca", "cat", "chay", "cho", "co", "da", "day", "de", "di", "do",
    "ga", "gay", "hay", "la", "lo", "lu", "ma", "me", "mo", "nga", "no", "on", "sap", "sat",
    "sau", "so", "ta", "to", "tre", "tu", "ve", "xe",
))
# fmt: on


def _accent_insensitive(pattern: str) -> str:
    """Each accented word of `pattern` also matches its unaccented form."""

    def both(match: re.Match[str]) -> str:
        word = match.group(0)
        plain = strip_diacritics(word)
        return word if plain == word or plain in _PLAIN_WORDS else f"(?:{word}|{plain})"

    return re.sub(r"(?<!\\)[^\W\d_]+", both, pattern)


@dataclass(frozen=True)
class _Compiled:
    rule: Rule
    accented: re.Pattern[str]
    unaccented: re.Pattern[str]


def _compile(rule: Rule) -> _Compiled:
    accented = re.compile(rf"(?<!\w)(?:{_accent_insensitive(rule.accented)})(?!\w)")
    plain = rule.unaccented if rule.unaccented is not None else strip_diacritics(rule.accented)
    return _Compiled(rule, accented, re.compile(rf"(?<!\w)(?:{plain})(?!\w)"))


_COMPILED = tuple(_compile(r) for r in RULES)


def diacritic_ratio(text: str) -> float:
    """Share of words carrying Vietnamese accents (about 0.6+ in accented text)."""
    words = text.split()
    if not words:
        return 0.0
    return sum(1 for w in words if not w.isascii()) / len(words)


def _hit(pattern: re.Pattern[str], text: str, hedgeable: bool) -> bool:
    for match in pattern.finditer(text):
        if not hedgeable or not _HEDGE.search(text, max(0, match.start() - 40), match.start()):
            return True
    return False


def rule_reasons(text: str, key: str) -> tuple[str, ...]:
    """Reason ids of the danger rules that match.

    `text` is the normalised text in lower case; `key` its folded form. The
    unaccented patterns run on `key` only when the message was typed mostly
    without accents (else "sắp" would read as "sập").
    """
    unaccented = diacritic_ratio(text) < 0.25
    reasons: list[str] = []
    for compiled in _COMPILED:
        hedgeable = compiled.rule.hedgeable
        if _hit(compiled.accented, text, hedgeable) or (
            unaccented and _hit(compiled.unaccented, key, hedgeable)
        ):
            reasons.append(compiled.rule.reason)
    return tuple(reasons)


def decide(
    rule_hits: tuple[str, ...], probability: float | None, threshold: float = DEFAULT_THRESHOLD
) -> tuple[bool, tuple[str, ...]]:
    """OR-combine the rules and the classifier's probability of `urgent`."""
    reasons = list(rule_hits)
    if probability is not None and probability >= threshold:
        reasons.append("classifier")
    return bool(reasons), tuple(reasons)


def training_data(data: TrainingData) -> TrainingData:
    """`data` plus the dialogue turns (greetings, thanks, questions...) as
    `not_urgent`, which keeps the urgency model from firing on small talk."""
    extra = tuple(
        Example(e.text, NOT_URGENT)
        for e in data.examples
        if e.label in INTENTS and e.label != INTENT_REPORT
    )
    return TrainingData(data.examples + extra, data.synonyms, data.lookups)
