"""The citizen's own reports in chat: "phản ánh của tôi", and adding information or photos
to one of them by its code.

Pure like the rest of the dialogue: it returns `ListMyReports`, `StartAddInfo` and
`AddInfo` commands and reads their outcomes. The phrases asking for the list, and the
words meaning "add to this report" next to a report code, are matched by rule on the
folded text: on these short fixed phrases a rule is more reliable than the intent
classifier, which reads "phản ánh của tôi" as a status question and "bổ sung <mã>" as a
lookup. Whether a code is the citizen's own and still open is the port's to say; an
unknown code and someone else's get the same "not found".
"""

from __future__ import annotations

import re

from bot import followup_templates as ft
from bot import templates as t
from bot.commands import (
    AddInfo,
    AnyOutcome,
    InfoAdded,
    ListMyReports,
    LookupStatus,
    MyReports,
    ReadyForInfo,
    ReportClosed,
    ReportNotFound,
    StartAddInfo,
)
from bot.config import BotConfig
from bot.intake import Turn, back_to_draft, draft_step
from bot.messages import Inbound
from bot.options import is_done, yes_no
from bot.state import State, Step
from nlu import NluResult
from nlu import types as it

_MINE = r"(?:toi|em|e|minh|tui|chung toi)"
_TAIL = r"(?: (?:roi|nao|gi|a|nhe|nha|di|vay|voi|nua|the|khong|ko))*"
_MY_REPORTS = re.compile(
    rf"^(?:(?:cho )?{_MINE} )?(?:muon |can )?(?:xem |coi |liet ke |kiem tra )?(?:lai )?"
    r"(?:(?:danh sach|lich su|tat ca|nhung|cac|may) )*(?:cai )?phan anh "
    rf"(?:cua {_MINE}|(?:{_MINE} )?da (?:gui|phan anh)){_TAIL}$"
    r"|^(?:xem )?(?:danh sach|lich su) (?:cac )?phan anh$"
    rf"|^{_MINE} da (?:gui|phan anh) (?:nhung |may )?(?:gi|(?:cai )?phan anh nao){_TAIL}$"
)
# A status question about "my reports" without a code: the list answers it best.
_OWN = re.compile(rf"\bphan anh (?:cua {_MINE}|(?:{_MINE} )?da gui)\b|\b{_MINE} da gui\b")
_ADD = re.compile(
    r"\b(?:bo sung|bo xung|gui them|cung cap them|dinh kem|noi them"
    r"|them (?:anh|hinh|video|clip|thong tin|chi tiet))\b"
)
_SHORT_REQUEST = 6  # words: longer, "bổ sung" is part of a description
_RESTART = frozenset({"lam lai", "bat dau lai", "lam lai tu dau"})
_CLOSING = frozenset({it.INTENT_THANKS, it.INTENT_CANCEL, it.INTENT_GREET})
_ADDING_STEPS = (Step.ADD_INFO, Step.ADD_INFO_CODE)
_PUNCTUATION = " \t\n:;,.-–—()"


def asks_my_reports(nlu: NluResult) -> bool:
    """ "Phản ánh của tôi", "xem các phản ánh đã gửi", "tôi đã gửi những gì"."""
    return not nlu.entities.report_codes and _MY_REPORTS.match(nlu.key) is not None


def asks_to_add(nlu: NluResult) -> bool:
    """ "Bổ sung thông tin", "gửi thêm ảnh": a short request to add, without a code."""
    return (
        nlu.intent == it.INTENT_ADD_INFO
        and len(nlu.key.split()) <= _SHORT_REQUEST
        and _ADD.search(nlu.key) is not None
    )


def status_of_mine(nlu: NluResult) -> bool:
    """A status question about the citizen's reports in general ("phản ánh của tôi sao rồi")."""
    return (
        nlu.intent == it.INTENT_STATUS
        and not nlu.entities.report_codes
        and _OWN.search(nlu.key) is not None
    )


def list_mine(state: State, cfg: BotConfig) -> Turn:
    return Turn(leave_adding(state, cfg), (), (ListMyReports(),))


def ask_which(state: State, cfg: BotConfig) -> Turn:
    """ "Bổ sung" without a code: list the open reports to choose from."""
    asking = leave_adding(state, cfg).model_copy(update={"step": Step.ADD_INFO_CODE})
    return Turn(asking, (), (ListMyReports(),))


def add_request(state: State, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn | None:
    """ "Bổ sung 202611230007 ...", or a code after "which report?"; None otherwise."""
    codes = nlu.entities.report_codes
    if not codes:
        return None
    wanted = (
        state.step == Step.ADD_INFO_CODE
        or nlu.intent == it.INTENT_ADD_INFO
        or _ADD.search(nlu.key) is not None
    )
    return add_to(state, codes[0], msg, cfg) if wanted else None


def add_to(state: State, code: str, msg: Inbound, cfg: BotConfig) -> Turn:
    """Add what the message already carries, or first check the report and ask for it."""
    text = msg.text.partition(code)[2].strip(_PUNCTUATION) if code in msg.text else ""
    left = leave_adding(state, cfg)
    if len(text) >= cfg.min_content_chars or msg.media:
        command = AddInfo(code=code, text=text or None, media=msg.media)
        return Turn(left, (), (command,))
    return Turn(left, (), (StartAddInfo(code=code),))


def on_payload(state: State, payload: str, cfg: BotConfig) -> Turn | None:
    """The list, lookup and "bổ sung" buttons; None for any other payload."""
    if payload == t.P_MY_REPORTS:
        return list_mine(state, cfg)
    if payload == ft.P_ADD_INFO:
        return ask_which(state, cfg)
    if payload == ft.P_ADD_DONE:
        return finish(state, cfg)
    prefix, _, code = payload.partition(":")
    if not code.isdigit():
        return None
    if prefix == ft.P_ADD_INFO:
        return Turn(leave_adding(state, cfg), (), (StartAddInfo(code=code),))
    if prefix + ":" == ft.P_LOOKUP_CODE:
        return Turn(leave_adding(state, cfg), (), (LookupStatus(code=code),))
    return None


def on_adding(
    state: State, msg: Inbound, nlu: NluResult, cfg: BotConfig, resuming: bool
) -> Turn | None:
    """In Step.ADD_INFO each message is more information for the report, until "xong".

    None when the message says something else (a code, "phản ánh của tôi", a restart)
    or comes after a long silence: the caller leaves the step and handles it as usual.
    """
    code, key = state.adding, nlu.key
    if code is None or resuming or nlu.entities.report_codes or asks_my_reports(nlu):
        return None
    if "phan anh moi" in key or key in _RESTART:
        return None
    closing = nlu.intent in _CLOSING and len(key.split()) <= _SHORT_REQUEST
    if is_done(key) or yes_no(key) is not None or closing:
        return finish(state, cfg)
    text = msg.text.strip()
    if msg.lat is not None and msg.lon is not None:
        text = f"{text}\nVị trí: {msg.lat:.6f}, {msg.lon:.6f}".strip()
    if not text and not msg.media:
        return None
    return Turn(state, (), (AddInfo(code=code, text=text or None, media=msg.media),))


def finish(state: State, cfg: BotConfig) -> Turn:
    return back_to_draft(leave_adding(state, cfg), cfg, ft.adding_done())


def leave_adding(state: State, cfg: BotConfig) -> State:
    """Stop adding to a report: back to the draft's step, or idle."""
    if state.step not in _ADDING_STEPS and state.adding is None:
        return state
    step = state.step if state.step not in _ADDING_STEPS else draft_step(state, cfg)
    return state.model_copy(update={"step": step, "adding": None})


def on_outcome(state: State, outcome: AnyOutcome, cfg: BotConfig) -> Turn | None:
    """The reply to a list or an addition; None for outcomes of other commands."""
    media = state.accepts_media
    if isinstance(outcome, MyReports):
        if state.step != Step.ADD_INFO_CODE:
            return back_to_draft(state, cfg, ft.my_reports(outcome))
        which = ft.which_report(outcome)
        if which is None:
            return back_to_draft(leave_adding(state, cfg), cfg, ft.nothing_open())
        return Turn(state, (which,))
    if isinstance(outcome, ReadyForInfo | InfoAdded):
        adding = state.model_copy(update={"step": Step.ADD_INFO, "adding": outcome.code})
        if isinstance(outcome, ReadyForInfo):
            return Turn(adding, (ft.ask_info(outcome.code, outcome.title, media),))
        return Turn(adding, (ft.info_added(outcome, media),))
    if isinstance(outcome, ReportClosed):
        return back_to_draft(leave_adding(state, cfg), cfg, ft.report_closed(outcome))
    if isinstance(outcome, ReportNotFound) and state.adding is not None:
        left = leave_adding(state, cfg)
        return back_to_draft(left, cfg, t.own_report_not_found(outcome.code))
    return None
