"""Tables of the Zalo OA connection: the live token pair, and the PKCE states of a grant.

`zalo_tokens` holds one row (id 1): the access token, the single-use refresh token
issued with it, when the access token expires, and `version` / `rotated_at`, bumped
by every save so a rotation is visible (and the console can say when it happened).
With `[zalo] token_key` set, both tokens are Fernet tokens and `encrypted` is true;
a row written without a key (`encrypted` false) is encrypted when a key is configured.
`zalo_oauth_states` keeps, for the few minutes of an admin's re-authorisation, the
PKCE code verifier bound to the random `state` sent to Zalo (stored as its SHA-256)
and to the admin who started it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime

TOKEN_ROW_ID = 1


class ZaloTokenRow(Base):
    __tablename__ = "zalo_tokens"
    __table_args__ = (CheckConstraint(f"id = {TOKEN_ROW_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    access_token: Mapped[str] = mapped_column(Text)
    refresh_token: Mapped[str] = mapped_column(Text)
    encrypted: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ZaloOAuthState(Base):
    __tablename__ = "zalo_oauth_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    code_verifier: Mapped[str] = mapped_column(String(128))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
