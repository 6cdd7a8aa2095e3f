"""Result types of the NLU: what `understand()` returns and what the bot may read.

Frozen dataclasses only, so a result can be shared between threads and cached.
Intent and category identifiers are stable strings; Vietnamese display names
live in the deployment configuration, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Intent identifiers (Rasa-style names, used in nlu/data/*.yml).
INTENT_REPORT = "new_report"
INTENT_STATUS = "status_lookup"
INTENT_GREET = "greet"
INTENT_THANKS = "thanks"
INTENT_HELP = "help"
INTENT_CANCEL = "cancel"
INTENT_CORRECT = "correct"
INTENT_RATE = "rate"
INTENT_HUMAN = "human_handoff"
INTENT_ADD_INFO = "add_info"
INTENT_AFFIRM = "affirm"
INTENT_DENY = "deny"
INTENT_UNKNOWN = "out_of_scope"

INTENTS: tuple[str, ...] = (
    INTENT_REPORT,
    INTENT_STATUS,
    INTENT_GREET,
    INTENT_THANKS,
    INTENT_HELP,
    INTENT_CANCEL,
    INTENT_CORRECT,
    INTENT_RATE,
    INTENT_HUMAN,
    INTENT_ADD_INFO,
    INTENT_AFFIRM,
    INTENT_DENY,
    INTENT_UNKNOWN,
)

# Default category taxonomy ids (a deployment may add, rename or drop).
DEFAULT_CATEGORIES: tuple[str, ...] = (
    "giao_thong",
    "trat_tu_do_thi",
    "xay_dung",
    "moi_truong",
    "cap_thoat_nuoc",
    "dien_chieu_sang",
    "cay_xanh",
    "an_ninh_trat_tu",
    "dat_dai",
    "y_te",
    "giao_duc",
    "hanh_chinh",
    "an_sinh_xa_hoi",
    "thien_tai",
    "khac",
)


@dataclass(frozen=True)
class CategoryScore:
    category: str
    score: float


@dataclass(frozen=True)
class Location:
    """A place resolved to the post-2025 two-level units (province -> commune).

    `raw` is the text as the citizen wrote it; `detail` keeps street, house
    number or landmark ("hẻm 12 Nguyễn Trãi", "gần chợ"); `old_names` keeps the
    pre-reform names the citizen used ("huyện Mang Thít"). `note` explains a
    partial result (e.g. no coordinate data set to resolve a GPS point).
    """

    raw: str = ""
    province: str | None = None
    province_code: str | None = None
    commune: str | None = None
    commune_code: str | None = None
    old_names: tuple[str, ...] = ()
    detail: str | None = None
    lat: float | None = None
    lon: float | None = None
    confidence: float = 0.0
    note: str | None = None

    @property
    def found(self) -> bool:
        """True when anything usable as an address was recognised."""
        return bool(self.commune_code or self.province_code or self.detail or self.lat is not None)


@dataclass(frozen=True)
class Entities:
    phones: tuple[str, ...] = ()  # canonical E.164 (+84...)
    id_numbers: tuple[str, ...] = ()  # CCCD (12 digits) / CMND (9 digits)
    report_codes: tuple[str, ...] = ()  # YYYYMMDD + 4-digit sequence
    person_name: str | None = None


@dataclass(frozen=True)
class NluResult:
    """Everything the NLU understood of one message.

    `text` is the input as received, `normalized` the cleaned Vietnamese text,
    `key` its lower-case diacritics-free form (for matching short answers such
    as "xong", "ko", "so 1"), `masked` the text with phones/ID numbers masked
    (safe to log).
    """

    text: str
    normalized: str = ""
    key: str = ""
    masked: str = ""
    intent: str = INTENT_UNKNOWN
    intent_score: float = 0.0
    candidates: tuple[CategoryScore, ...] = ()
    category_sure: bool = False
    urgent: bool = False
    urgent_reasons: tuple[str, ...] = ()
    location: Location | None = None
    entities: Entities = field(default_factory=Entities)

    @property
    def category(self) -> str | None:
        return self.candidates[0].category if self.candidates else None

    @property
    def confidence(self) -> float:
        return self.candidates[0].score if self.candidates else 0.0
