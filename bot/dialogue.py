"""The pure dialogue core: (state, message, NLU result, now) → (new state, replies, commands).

No clock, database or network in here: the runner passes `now`, executes the
returned commands through the ports, and hands their outcomes to `on_outcome`.
Besides the intake of new reports, it takes follow-ups on answered ones
(rating buttons, a comment, reopening) and on the citizen's own reports ("phản ánh
của tôi", adding information: bot.followups) at any step without losing a draft.
"""

from __future__ import annotations

from datetime import datetime

from bot import followups as fu
from bot import templates as t
from bot.commands import (
    AnyOutcome,
    CreateReport,
    LookupStatus,
    NotCompleted,
    RateReport,
    ReopenReport,
    ReportCreated,
    ReportNotFound,
    ReportRated,
    ReportReopened,
    StatusFound,
    StatusNotFound,
)
from bot.config import BotConfig
from bot.followup_templates import P_CONTACT_USE
from bot.intake import (
    Turn,
    advance,
    back_to_draft,
    choose_category,
    detect_field,
    fill_content,
    on_step,
    start_edit,
    use_channel_phone,
)
from bot.intake import absorb as absorb
from bot.messages import Inbound, Reply
from bot.options import is_done, pick, yes_no
from bot.state import Draft, RatingGiven, State, Step
from nlu import NluResult
from nlu import types as it

_SHORT_ANSWER_STEPS = {Step.PHOTOS, Step.CONSENT, Step.CONTACT, Step.CONTACT_PHONE, Step.SUMMARY}
_CANCEL_WORDS = (
    "huy",
    "huy bo",
    "khong gui",
    "dung lai",
    "thoi khong",
    "khong muon",
    "bo qua phan anh",
)
_RESTART = {"lam lai", "bat dau lai", "gui lai tu dau", "lam lai tu dau", "phan anh moi"}

__all__ = ["Turn", "handle", "on_outcome"]


def handle(state: State, msg: Inbound, nlu: NluResult, now: datetime, cfg: BotConfig) -> Turn:
    """React to one inbound message."""
    away = now - state.last_seen if state.last_seen else None
    state = state.model_copy(update={"last_seen": now, "profile": _learn_profile(state, msg)})
    if len(msg.text) > cfg.max_chars:
        return Turn(state, (t.too_long(cfg.max_chars),))
    if _is_empty(msg):
        return _remember_options(Turn(state, (t.empty_message(),)))
    if state.draft is not None:
        state = state.model_copy(
            update={"draft": state.draft.model_copy(update={"turns": state.draft.turns + 1})}
        )
    payload = msg.payload or pick(state.options, nlu.key)
    if payload:
        turn = _on_payload(state, payload, msg, nlu, now, cfg)
    else:
        resuming = away is not None and away > cfg.resume_after
        turn = _on_text(state, msg, nlu, now, cfg, resuming)
    return _remember_options(turn)


def on_outcome(state: State, outcome: AnyOutcome, cfg: BotConfig) -> Turn:
    """React to the result of a command the runner executed."""
    followup = fu.on_outcome(state, outcome, cfg)
    if followup is not None:
        return _remember_options(followup)
    if isinstance(outcome, ReportCreated):
        return _remember_options(Turn(state, (t.created(outcome, cfg),)))
    if isinstance(outcome, ReportRated) and outcome.comment is None:
        rating = RatingGiven(code=outcome.code, score=outcome.score)
        asking = state.model_copy(update={"step": Step.RATING_COMMENT, "rating": rating})
        reply = t.rated(outcome.code, outcome.score, drafting=state.draft is not None)
        return _remember_options(Turn(asking, (reply,)))
    return _remember_options(back_to_draft(state, cfg, _outcome_reply(outcome)))


def _outcome_reply(outcome: AnyOutcome) -> Reply:
    if isinstance(outcome, ReportRated):
        return t.rating_comment_saved(outcome.code, outcome.score)
    if isinstance(outcome, ReportReopened):
        return t.reopened(outcome)
    if isinstance(outcome, ReportNotFound):
        return t.own_report_not_found(outcome.code)
    if isinstance(outcome, NotCompleted):
        return t.not_completed(outcome.code)
    if isinstance(outcome, StatusFound):
        return t.status(outcome)
    if isinstance(outcome, StatusNotFound):
        return t.status_not_found(outcome.code)
    raise TypeError(f"no reply for {type(outcome).__name__}")  # handled before, by on_outcome


def _is_empty(msg: Inbound) -> bool:
    return not (
        msg.text.strip() or msg.media or msg.payload or msg.lat is not None or msg.contact_phone
    )


def _learn_profile(state: State, msg: Inbound) -> object:
    if not msg.contact_phone:
        return state.profile
    return state.profile.model_copy(
        update={"phone": msg.contact_phone, "name": state.profile.name or msg.sender_name}
    )


def _remember_options(turn: Turn) -> Turn:
    offered = next((r.buttons for r in reversed(turn.replies) if r.buttons), ())
    return Turn(turn.state.model_copy(update={"options": offered}), turn.replies, turn.commands)


def _start(state: State, now: datetime) -> tuple[State, Draft]:
    draft = Draft(started_at=now, turns=1)
    return state.model_copy(update={"step": Step.CONTENT, "draft": draft}), draft


def _on_payload(
    state: State, payload: str, msg: Inbound, nlu: NluResult, now: datetime, cfg: BotConfig
) -> Turn:
    state = _leave_rating(state, cfg)
    mine = fu.on_payload(state, payload, cfg)
    if mine is not None:
        return mine
    state = fu.leave_adding(state, cfg)
    followup = _on_followup(state, payload, cfg)
    if followup is not None:
        return followup
    simple = {
        t.P_HELP: lambda: Turn(state, (t.help_text(),)),
        t.P_LOOKUP: lambda: Turn(
            state.model_copy(update={"step": Step.AWAIT_CODE}), (t.ask_code(),)
        ),
        t.P_CANCEL: lambda: _cancel(state),
        t.P_REPORT: lambda: _ask_content(state, now),
        t.P_RESTART: lambda: _ask_content(state, now),
    }
    if payload in simple:
        return simple[payload]()
    draft = state.draft
    if draft is None:
        return Turn(state, (t.not_understood(),))
    return _on_draft_payload(state, draft, payload, cfg)


def _on_draft_payload(state: State, draft: Draft, payload: str, cfg: BotConfig) -> Turn:
    if payload == t.P_CONFIRM and state.step == Step.SUMMARY:
        return _confirm(state, draft)
    if payload == t.P_EDIT:
        return Turn(state.model_copy(update={"step": Step.EDIT}), (t.edit_menu(),))
    if payload == P_CONTACT_USE and state.step == Step.CONTACT:
        return use_channel_phone(state, draft, cfg)
    if payload.startswith(t.P_EDIT_FIELD):
        return start_edit(state, draft, payload.removeprefix(t.P_EDIT_FIELD), cfg)
    if payload.startswith(t.P_CATEGORY):
        return choose_category(state, draft, payload.removeprefix(t.P_CATEGORY), cfg)
    updates = {
        t.P_MEDIA_DONE: {"media_done": True},
        t.P_CONTACT_SKIP: {"contact_done": True},
        t.P_PUBLIC_YES: {"public": True},
        t.P_PUBLIC_NO: {"public": False},
    }
    return advance(state, draft.model_copy(update=updates.get(payload, {})), cfg)


def _ask_content(state: State, now: datetime) -> Turn:
    started, _ = _start(state, now)
    return Turn(started, (t.ask_content(),))


def _cancel(state: State) -> Turn:
    if state.draft is None and state.step == Step.IDLE:
        return Turn(state, (t.nothing_to_cancel(),))
    return Turn(state.model_copy(update={"step": Step.IDLE, "draft": None}), (t.cancelled(),))


def _confirm(state: State, draft: Draft) -> Turn:
    command = CreateReport(draft=draft, name=draft.name, phone=draft.phone)
    return Turn(state.model_copy(update={"step": Step.IDLE, "draft": None}), (), (command,))


def _lookup(state: State, code: str) -> Turn:
    return Turn(state, (), (LookupStatus(code=code),))


def _on_text(
    state: State, msg: Inbound, nlu: NluResult, now: datetime, cfg: BotConfig, resuming: bool
) -> Turn:
    if state.step == Step.RATING_COMMENT:
        return _rating_comment(state, msg, nlu, now, cfg, resuming)
    mine = _on_own_reports(state, msg, nlu, cfg, resuming)
    if isinstance(mine, Turn):
        return mine
    state = mine
    codes, intent, draft = nlu.entities.report_codes, nlu.intent, state.draft
    if codes and (draft is None or intent == it.INTENT_STATUS or _only_code(nlu, codes[0])):
        return _lookup(state, codes[0])
    if draft is not None and state.step in _SHORT_ANSWER_STEPS and _short_answer(nlu.key):
        return on_step(state, draft, msg, nlu, cfg)
    if _is_cancel(nlu):
        return _cancel(state)
    if nlu.key in _RESTART:
        return _ask_content(state, now)
    if draft is None or state.step == Step.IDLE:
        return _idle(state, msg, nlu, now, cfg)
    if intent == it.INTENT_HELP:
        return advance(state, draft, cfg, t.help_text())
    if intent == it.INTENT_CORRECT and state.step != Step.EDIT and detect_field(nlu.key):
        return _correct(state, draft, msg, nlu, cfg)
    if resuming and intent in (it.INTENT_GREET, it.INTENT_UNKNOWN, it.INTENT_THANKS):
        return Turn(state.model_copy(update={"step": Step.RESUME}), (t.resume_prompt(draft),))
    if state.step == Step.RESUME:
        return _resume(state, draft, msg, nlu, cfg)
    return on_step(state, draft, msg, nlu, cfg)


def _on_own_reports(
    state: State, msg: Inbound, nlu: NluResult, cfg: BotConfig, resuming: bool
) -> Turn | State:
    """Adding to a report, or "phản ánh của tôi"; else the state to go on with."""
    if state.step == Step.ADD_INFO:
        adding = fu.on_adding(state, msg, nlu, cfg, resuming)
        if adding is not None:
            return adding
    add = fu.add_request(state, msg, nlu, cfg)
    if add is not None:
        return add
    state = fu.leave_adding(state, cfg)
    return fu.list_mine(state, cfg) if fu.asks_my_reports(nlu) else state


# --- follow-ups on an answered report ---------------------------------------------


def _on_followup(state: State, payload: str, cfg: BotConfig) -> Turn | None:
    """A rating, reopening or "no, thanks" button; None for any other payload."""
    prefix, _, code = payload.partition(":")
    prefix += ":"
    if not code.isdigit():
        return None
    if prefix in t.RATE_SCORES:
        return Turn(state, (), (RateReport(code=code, score=t.RATE_SCORES[prefix]),))
    if prefix == t.P_REOPEN:
        return Turn(state, (), (ReopenReport(code=code),))
    if prefix == t.P_KEEP_CLOSED:
        return back_to_draft(state, cfg, t.kept_closed())
    return None


def _leave_rating(state: State, cfg: BotConfig) -> State:
    """Stop waiting for a rating comment; back to the draft's step, or idle."""
    if state.step != Step.RATING_COMMENT:
        return state
    step = advance(state, state.draft, cfg).state.step if state.draft else Step.IDLE
    return state.model_copy(update={"step": step, "rating": None})


def _rating_comment(
    state: State, msg: Inbound, nlu: NluResult, now: datetime, cfg: BotConfig, resuming: bool
) -> Turn:
    """The free text after a rating is its comment, unless it lapsed or says something else."""
    rating, left = state.rating, _leave_rating(state, cfg)
    text = msg.text.strip()
    if rating is None or resuming or not text or not _is_comment(nlu):
        return _on_text(left, msg, nlu, now, cfg, resuming)
    return Turn(left, (), (RateReport(code=rating.code, score=rating.score, comment=text),))


def _is_comment(nlu: NluResult) -> bool:
    """Not a lookup, a cancellation, a restart, nor a mere "thanks" or "hello"."""
    if nlu.entities.report_codes or _is_cancel(nlu) or nlu.key in _RESTART:
        return False
    closing = nlu.intent in (it.INTENT_THANKS, it.INTENT_GREET)
    return not (closing and len(nlu.key.split()) <= 4)


def _short_answer(key: str) -> bool:
    """ "không", "có", "xong": an answer to the question asked, not a command."""
    return yes_no(key) is not None or is_done(key)


def _is_cancel(nlu: NluResult) -> bool:
    """Cancelling throws work away: the classifier must agree with an explicit word."""
    padded = f" {nlu.key} "
    return nlu.intent == it.INTENT_CANCEL and any(f" {w} " in padded for w in _CANCEL_WORDS)


def _only_code(nlu: NluResult, code: str) -> bool:
    return len(nlu.key.replace(code, "").split()) <= 2


def _resume(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    if yes_no(nlu.key) is True:
        return advance(state, draft, cfg)
    step = advance(state, draft, cfg).state.step
    return on_step(state.model_copy(update={"step": step}), draft, msg, nlu, cfg)


def _correct(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    name = detect_field(nlu.key)
    if name is None:
        return Turn(state.model_copy(update={"step": Step.EDIT}), (t.edit_menu(),))
    if name == "location" and nlu.location is not None and nlu.location.found:
        cleared = draft.model_copy(update={"location": None})
        return advance(state, absorb(cleared, msg, nlu, Step.SUMMARY), cfg)
    if name == "contact" and nlu.entities.phones:
        updated = draft.model_copy(update={"phone": nlu.entities.phones[0], "contact_done": True})
        return advance(state, updated, cfg)
    return start_edit(state, draft, name, cfg)


def _idle(state: State, msg: Inbound, nlu: NluResult, now: datetime, cfg: BotConfig) -> Turn:
    intent = nlu.intent
    if fu.asks_to_add(nlu) and not msg.media:
        return fu.ask_which(state, cfg)
    if fu.status_of_mine(nlu):
        return fu.list_mine(state, cfg)
    if state.step == Step.AWAIT_CODE and not _looks_like_report(nlu, msg):
        return Turn(state.model_copy(update={"step": Step.IDLE}), (t.ask_code(),))
    replies: dict[str, Reply] = {
        it.INTENT_GREET: t.welcome(cfg),
        it.INTENT_HELP: t.help_text(),
        it.INTENT_THANKS: t.thanks(),
        it.INTENT_HUMAN: t.human_handoff(cfg),
        it.INTENT_RATE: t.rating_thanks(),
    }
    if intent == it.INTENT_STATUS:
        return Turn(state.model_copy(update={"step": Step.AWAIT_CODE}), (t.ask_code(),))
    if intent in replies and not _looks_like_report(nlu, msg):
        return Turn(state.model_copy(update={"step": Step.IDLE}), (replies[intent],))
    if _looks_like_report(nlu, msg) or msg.media or msg.lat is not None:
        return _start_report(state, msg, nlu, now, cfg)
    return Turn(state.model_copy(update={"step": Step.IDLE}), (t.not_understood(),))


def _looks_like_report(nlu: NluResult, msg: Inbound) -> bool:
    words = len(nlu.key.split())
    if nlu.intent == it.INTENT_REPORT or nlu.urgent or nlu.category_sure:
        return True
    return words >= 5 and nlu.intent in (it.INTENT_UNKNOWN, it.INTENT_ADD_INFO)


def _start_report(
    state: State, msg: Inbound, nlu: NluResult, now: datetime, cfg: BotConfig
) -> Turn:
    started, draft = _start(state, now)
    draft = absorb(draft, msg, nlu, Step.CONTENT)
    if _is_mere_request(nlu):
        return advance(started, draft, cfg)
    filled = fill_content(draft, msg, nlu, cfg) if msg.text.strip() else None
    return advance(started, filled or draft, cfg)


def _is_mere_request(nlu: NluResult) -> bool:
    """ "Tôi muốn phản ánh" says that there is a report, not what it is."""
    has_place = nlu.location is not None and nlu.location.found
    return (
        nlu.intent == it.INTENT_REPORT
        and len(nlu.key.split()) <= 6
        and not ((nlu.category_sure and nlu.category != "khac") or nlu.urgent or has_place)
    )
