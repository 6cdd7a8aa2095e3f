"""Filling the report draft, one step at a time, without asking twice for what was said.

Every handler first absorbs whatever the message carries besides the answer
to the current question (photos, a GPS pin, an address, a phone number), then
reads the answer, then `advance` asks for the next missing piece only.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from bot import followup_templates as ft
from bot import templates as t
from bot.commands import Command
from bot.config import BotConfig
from bot.messages import Inbound, Reply
from bot.options import extract_name, is_done, yes_no
from bot.state import Draft, Step
from bot.state import State as State
from nlu import Location, NluResult

_DECLINE_CONTACT = {"an danh", "gui an danh", "bo qua", "khong cung cap", "khong muon", "thoi"}
_FIELD_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("content", ("noi dung", "mo ta")),
    ("location", ("dia chi", "dia diem", "vi tri", "cho xay ra")),
    ("media", ("anh", "hinh", "video")),
    ("category", ("linh vuc", "loai", "danh muc")),
    ("public", ("cong khai",)),
    ("urgent", ("khan cap", "muc do")),
    ("contact", ("so dien thoai", "sdt", "dien thoai", "ho ten", "ten", "lien he")),
)


@dataclass(frozen=True)
class Turn:
    state: State
    replies: tuple[Reply, ...] = ()
    commands: tuple[Command, ...] = field(default=())


def place_from(location: Location, raw: str) -> Location:
    """The NLU's location, remembering the citizen's own words."""
    return dataclasses.replace(location, raw=raw or location.raw)


def absorb(draft: Draft, msg: Inbound, nlu: NluResult, asked: Step) -> Draft:
    """Take from the message everything that fills an empty slot of the draft."""
    update: dict[str, object] = {}
    if msg.media:
        update["media"] = draft.media + msg.media
    if msg.lat is not None and msg.lon is not None:
        base = nlu.location or Location(lat=msg.lat, lon=msg.lon)
        update["location"] = place_from(base, f"{msg.lat:.6f},{msg.lon:.6f}")
    elif asked not in (Step.LOCATION, Step.CONTENT) and draft.location is None and _has_place(nlu):
        assert nlu.location is not None
        update["location"] = place_from(nlu.location, msg.text.strip())
    phone = msg.contact_phone or (nlu.entities.phones[0] if nlu.entities.phones else None)
    if phone and not draft.phone and asked not in (Step.CONTACT, Step.CONTACT_PHONE):
        update.update(phone=phone, contact_done=True)
    return draft.model_copy(update=update) if update else draft


def _has_place(nlu: NluResult) -> bool:
    """A place staff can find: a resolved commune (a landmark alone is only a hint)."""
    return nlu.location is not None and bool(nlu.location.commune_code)


def _hint(nlu: NluResult, raw: str) -> Location | None:
    if nlu.location is None or not (nlu.location.detail or nlu.location.province_code):
        return None
    return place_from(nlu.location, raw)


def _merge_hint(place: Location, hint: Location | None) -> Location:
    """The answer to "where?" completed with the street or landmark said earlier."""
    if hint is None or not hint.detail or place.detail:
        return place
    return dataclasses.replace(place, detail=hint.detail, raw=f"{hint.detail}; {place.raw}")


def fill_content(draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Draft | None:
    """The draft with the message as its content, or None when the text says too little."""
    text = (nlu.normalized or msg.text).strip()
    if len(text) < cfg.min_content_chars and not nlu.category_sure:
        return None
    known = [c for c in nlu.candidates if c.category in cfg.category_names]
    update: dict[str, object] = {
        "content": text,
        "candidates": tuple(c.category for c in known),
        "category": known[0].category if known else None,
        "category_score": known[0].score if known else 0.0,
        "category_sure": bool(known) and nlu.category_sure,
        "urgent": draft.urgent or nlu.urgent,
        "urgent_reasons": tuple(dict.fromkeys(draft.urgent_reasons + nlu.urgent_reasons)),
    }
    if draft.location is None and _has_place(nlu):
        assert nlu.location is not None
        update["location"] = place_from(nlu.location, text)
    elif draft.location is None:
        update["location_hint"] = _hint(nlu, text)
    return draft.model_copy(update=update)


def advance(state: State, draft: Draft, cfg: BotConfig, *extra: Reply) -> Turn:
    """Ask for the next missing piece of the draft, or show the summary."""
    if not draft.contact_done and state.profile.phone:
        draft = draft.model_copy(
            update={
                "phone": state.profile.phone,
                "name": draft.name or state.profile.name,
                "contact_done": True,
            }
        )
    step, question = _next_question(state, draft, cfg)
    return Turn(state.model_copy(update={"step": step, "draft": draft}), (*extra, question))


def back_to_draft(state: State, cfg: BotConfig, *replies: Reply) -> Turn:
    """Say `replies`, then ask again what the draft in progress still needs, if there is one."""
    if state.draft is not None and state.step not in (Step.IDLE, Step.AWAIT_CODE):
        return advance(state, state.draft, cfg, *replies)
    return Turn(state.model_copy(update={"step": Step.IDLE}), replies)


def draft_step(state: State, cfg: BotConfig) -> Step:
    """The step the draft in progress is at (idle without one), to go back to after a detour."""
    return advance(state, state.draft, cfg).state.step if state.draft else Step.IDLE


def _ask_contact(state: State) -> Reply:
    """Name and number; on a channel that knows the number (SMS), only confirm it."""
    return ft.confirm_channel_phone(state.channel_phone) if state.channel_phone else t.ask_contact()


def _next_question(state: State, draft: Draft, cfg: BotConfig) -> tuple[Step, Reply]:
    if not draft.content:
        return Step.CONTENT, t.ask_content()
    if draft.location is None:
        return Step.LOCATION, t.ask_location()
    if state.accepts_media and not draft.media_done and not draft.media:
        return Step.PHOTOS, t.ask_media()
    if draft.public is None:
        return Step.CONSENT, t.ask_public()
    if not draft.contact_done:
        return Step.CONTACT, _ask_contact(state)
    if not draft.category_sure and draft.candidates:
        return Step.CATEGORY, t.ask_category(category_choices(draft, cfg))
    return Step.SUMMARY, t.summary(draft, cfg)


def category_choices(
    draft: Draft, cfg: BotConfig, everything: bool = False
) -> list[tuple[str, str]]:
    names = cfg.category_names
    ids = list(names) if everything else [c for c in draft.candidates[:3] if c in names]
    if not everything and "khac" in names and "khac" not in ids:
        ids.append("khac")
    return [(cid, names[cid]) for cid in ids]


def on_step(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    step = state.step
    draft = absorb(draft, msg, nlu, step)
    handler = _HANDLERS.get(step, _fallback)
    return handler(state, draft, msg, nlu, cfg)


def _content(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    if not msg.text.strip():
        return advance(state, draft, cfg)
    filled = fill_content(draft, msg, nlu, cfg)
    if filled is None:
        return Turn(state.model_copy(update={"draft": draft}), (t.content_too_short(),))
    return advance(state, filled, cfg)


def _location(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    text = msg.text.strip()
    if draft.location is None and text:
        if nlu.location is not None and nlu.location.found:
            place = place_from(nlu.location, text)
        else:
            place = Location(raw=text, detail=text)
        draft = draft.model_copy(update={"location": _merge_hint(place, draft.location_hint)})
    ack = (
        (Reply(text=f"Đã ghi nhận địa điểm: {t.place_text(draft.location)}."),)
        if draft.location
        else ()
    )
    return advance(state, draft, cfg, *ack)


def _media(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    if msg.media:
        return Turn(state.model_copy(update={"draft": draft}), (t.ask_media(len(draft.media)),))
    if is_done(nlu.key) or yes_no(nlu.key) is False or msg.lat is not None:
        return advance(state, draft.model_copy(update={"media_done": True}), cfg)
    return Turn(state.model_copy(update={"draft": draft}), (t.ask_media(len(draft.media)),))


def _public(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    answer = yes_no(nlu.key)
    if answer is None:
        return Turn(state.model_copy(update={"draft": draft}), (t.ask_public(),))
    return advance(state, draft.model_copy(update={"public": answer}), cfg)


def _contact(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    phone = msg.contact_phone or (nlu.entities.phones[0] if nlu.entities.phones else None)
    name = msg.sender_name if msg.contact_phone else extract_name(msg.text)
    known = state.channel_phone
    if phone:
        return _with_contact(state, draft, name or draft.name, phone, cfg)
    if nlu.key in _DECLINE_CONTACT or yes_no(nlu.key) is False:
        return advance(state, draft.model_copy(update={"contact_done": True}), cfg)
    if any(ch.isdigit() for ch in msg.text):
        return Turn(state.model_copy(update={"draft": draft}), (t.bad_phone(),))
    if known and yes_no(nlu.key):
        return _with_contact(state, draft, draft.name, known, cfg)
    if known and name:
        return _with_contact(state, draft, name, known, cfg)
    if name:
        new_state = state.model_copy(
            update={"step": Step.CONTACT_PHONE, "draft": draft.model_copy(update={"name": name})}
        )
        return Turn(new_state, (t.ask_phone(name),))
    return Turn(state.model_copy(update={"draft": draft}), (_ask_contact(state),))


def _contact_phone(
    state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig
) -> Turn:
    phone = msg.contact_phone or (nlu.entities.phones[0] if nlu.entities.phones else None)
    if phone:
        return _with_contact(state, draft, draft.name, phone, cfg)
    if nlu.key in _DECLINE_CONTACT or yes_no(nlu.key) is False:
        return advance(state, draft.model_copy(update={"contact_done": True}), cfg)
    return Turn(state.model_copy(update={"draft": draft}), (t.bad_phone(),))


def use_channel_phone(state: State, draft: Draft, cfg: BotConfig) -> Turn:
    """ "Dùng số này": the number the channel knows becomes the contact number."""
    if not state.channel_phone:
        return advance(state, draft, cfg)
    return _with_contact(state, draft, draft.name, state.channel_phone, cfg)


def _with_contact(state: State, draft: Draft, name: str | None, phone: str, cfg: BotConfig) -> Turn:
    draft = draft.model_copy(update={"name": name, "phone": phone, "contact_done": True})
    profile = state.profile.model_copy(update={"name": name or state.profile.name, "phone": phone})
    return advance(state.model_copy(update={"profile": profile}), draft, cfg)


def _category(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    known = [c.category for c in nlu.candidates if c.category in cfg.category_names]
    if nlu.category_sure and known:
        return choose_category(state, draft, known[0], cfg)
    choices = category_choices(draft, cfg)
    return Turn(state.model_copy(update={"draft": draft}), (t.ask_category(choices),))


def choose_category(state: State, draft: Draft, category: str, cfg: BotConfig) -> Turn:
    if category not in cfg.category_names:
        return advance(state, draft, cfg)
    draft = draft.model_copy(update={"category": category, "category_sure": True})
    return advance(state, draft, cfg)


def _summary(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    answer = yes_no(nlu.key)
    if answer is False:
        return Turn(state.model_copy(update={"step": Step.EDIT, "draft": draft}), (t.edit_menu(),))
    return advance(state, draft, cfg)


def _edit(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    name = detect_field(nlu.key)
    if name is None:
        return Turn(state.model_copy(update={"draft": draft}), (t.edit_menu(),))
    return start_edit(state, draft, name, cfg)


def _fallback(state: State, draft: Draft, msg: Inbound, nlu: NluResult, cfg: BotConfig) -> Turn:
    return advance(state, draft, cfg)


def detect_field(key: str) -> str | None:
    padded = f" {key} "
    for name, words in _FIELD_WORDS:
        if any(f" {w} " in padded for w in words):
            return name
    return None


_CLEARED: dict[str, dict[str, object]] = {
    "content": {"content": None},
    "location": {"location": None},
    "media": {"media": (), "media_done": False},
    "public": {"public": None},
    "contact": {"name": None, "phone": None, "contact_done": False},
}


def start_edit(state: State, draft: Draft, name: str, cfg: BotConfig) -> Turn:
    if name == "urgent":  # a toggle: the summary shows the new value at once
        return advance(state, draft.model_copy(update={"urgent": not draft.urgent}), cfg)
    if name == "category":
        choices = category_choices(draft, cfg, everything=True)
        new_state = state.model_copy(update={"step": Step.CATEGORY, "draft": draft})
        return Turn(new_state, (t.ask_category(choices),))
    profile = (
        state.profile.model_copy(update={"phone": None}) if name == "contact" else state.profile
    )
    draft = draft.model_copy(update=_CLEARED[name])
    return advance(state.model_copy(update={"profile": profile}), draft, cfg)


_HANDLERS = {
    Step.CONTENT: _content,
    Step.LOCATION: _location,
    Step.PHOTOS: _media,
    Step.CONSENT: _public,
    Step.CONTACT: _contact,
    Step.CONTACT_PHONE: _contact_phone,
    Step.CATEGORY: _category,
    Step.SUMMARY: _summary,
    Step.EDIT: _edit,
}
