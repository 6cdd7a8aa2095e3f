"""Conversation state: the steps of the intake dialogue, the report draft being filled, a
rating waiting for its comment, and a report the citizen is adding information to.

Immutable pydantic models, so the runner can store them as JSON and the pure
core returns a new state instead of mutating one. Places are the NLU's own
frozen `Location` dataclass, with `raw` set to what the citizen wrote.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.messages import Button, Frozen, Media
from nlu import Location


class Step(StrEnum):
    IDLE = "idle"
    AWAIT_CODE = "await_code"
    CONTENT = "content"
    LOCATION = "location"
    PHOTOS = "photos"
    CONSENT = "consent"
    CONTACT = "contact"
    CONTACT_PHONE = "contact_phone"
    CATEGORY = "category"
    SUMMARY = "summary"
    EDIT = "edit"
    RESUME = "resume"
    RATING_COMMENT = "rating_comment"  # just rated an answer: the next free text is a comment
    ADD_INFO_CODE = "add_info_code"  # wants to add to a report: which one?
    ADD_INFO = "add_info"  # adding text or photos to `State.adding`, until "xong"


class Draft(Frozen):
    content: str | None = None
    location: Location | None = None
    location_hint: Location | None = (
        None  # a street or landmark said in passing, without its commune
    )
    media: tuple[Media, ...] = ()
    media_done: bool = False
    public: bool | None = None
    name: str | None = None
    phone: str | None = None
    contact_done: bool = False
    category: str | None = None
    category_score: float = 0.0
    category_sure: bool = False
    candidates: tuple[str, ...] = ()
    urgent: bool = False
    urgent_reasons: tuple[str, ...] = ()
    turns: int = 0
    started_at: datetime | None = None


class Profile(Frozen):
    """What the channel or an earlier report taught us about the citizen."""

    name: str | None = None
    phone: str | None = None


class RatingGiven(Frozen):
    """The rating the citizen just gave, waiting for an optional comment (Step.RATING_COMMENT).

    Like a draft left alone, it lapses after `BotConfig.resume_after` without a message.
    """

    code: str
    score: int


class State(Frozen):
    step: Step = Step.IDLE
    draft: Draft | None = None
    rating: RatingGiven | None = None
    options: tuple[Button, ...] = ()
    editing: bool = False
    profile: Profile = Profile()
    accepts_media: bool = True
    last_seen: datetime | None = None
    adding: str | None = None  # code of the citizen's own report taking additions (ADD_INFO)
    # The number the channel knows the citizen by (SMS sender), set by the runner: the
    # contact step offers it instead of asking for a number.
    channel_phone: str | None = None
