"""Twilio Voice adapter of the hotline: verify, parse call webhooks, render IVR actions as TwiML.

Translates only; the call flow lives in `bot.voice`. Composes the twilio SDK
(`RequestValidator`, `VoiceResponse`) and inherits from neither.

- `verify`: `X-Twilio-Signature` over the public URL Twilio called, rebuilt
  from the configured `public_url` plus the request's path and query (behind a
  TLS proxy the app sees `http://internal/...`), and the form parameters.
  Requests signed with a SharedKey (`X-Twilio-Webhooks-Signature-Settings:
  algorithm=HMAC_SHA256`) need `shared_key`.
- `parse` (the call route, `POST /channels/voice/twilio`) and `parse_status`
  (the status route, `.../status`: call ended, recording ready) turn the form
  into a `VoiceEvent`: the call's ids plus one `bot.voice` event.
- `render`: actions → TwiML in the Vietnamese voice. Every `<Gather>`,
  `<Record>` and `<Dial>` posts back to `action_url`, which carries the step
  (`?step=N`, N = `CallState.seq`); a `<Redirect>` to the same URL follows each
  prompt, so a timeout arrives as `NoInput`. `SendSms` is not TwiML: `sms()`
  hands it to the backend, which sends it through the SMS adapter.

Idempotency: a CallSid stays the same for every request of a call, so it cannot
identify one webhook alone. Each prompt's action URL carries the step counter,
and the signature covers the URL, so `VoiceEvent.key` = "CallSid:step" names one
answer to one prompt. The backend keeps the last key and TwiML per call: the
same key again (a retried delivery) gets the stored TwiML back, and a step other
than the state's current `seq` (an answer to a prompt already superseded) is not
fed to the core. Requests without a step use "CallSid:start",
"CallSid:status:<CallStatus>" and "CallSid:recording:<RecordingSid>".
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    RequestValidator,
    get_signature_algorithm,
)
from twilio.twiml.voice_response import VoiceResponse

from bot.voice import (
    Action,
    CallEnded,
    CallEvent,
    CallProgress,
    CallStarted,
    DialEnded,
    DigitsPressed,
    GatherDigits,
    GatherSpeech,
    Hangup,
    NoInput,
    Record,
    RecordingDone,
    Say,
    SendSms,
    SpeechHeard,
)
from bot.voice import Dial as DialAction
from channels.base import Capabilities, PayloadError, RawRequest, SignatureError

NAME = "voice"
DEFAULT_VOICE = "Google.vi-VN-Standard-A"
VOICE_PATH = "/channels/voice/twilio"
STATUS_PATH = "/channels/voice/twilio/status"

CALL_STATUSES = frozenset(
    {"queued", "ringing", "in-progress", "completed", "busy", "failed", "no-answer", "canceled"}
)
FINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
DIAL_STATUSES = frozenset({"completed", "answered", "busy", "no-answer", "failed", "canceled"})
_CALL_SID = re.compile(r"CA[0-9a-fA-F]{32}")
_RECORDING_SID = re.compile(r"RE[0-9a-fA-F]{32}")
_DIGITS = re.compile(r"[0-9*#]{1,40}")
_STEP = re.compile(r"\d{1,6}")
_URL = re.compile(r"https?://[^\s\x00-\x1f]{1,2000}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_SPEECH = 5000


@dataclass(frozen=True)
class VoiceEvent:
    """One webhook of a call: its ids and what happened."""

    call_sid: str
    event: CallEvent
    caller: str | None = None  # `From` as received; `bot.voice` normalises it
    call_status: str | None = None
    step: int | None = None  # from the action URL: the prompt this answers
    recording_sid: str | None = None

    @property
    def key(self) -> str:
        """Idempotency key (see the module docstring)."""
        if self.step is not None:
            return f"{self.call_sid}:{self.step}"
        if isinstance(self.event, RecordingDone):
            return f"{self.call_sid}:recording:{self.recording_sid or self.event.url}"
        if isinstance(self.event, CallStarted):
            return f"{self.call_sid}:start"
        return f"{self.call_sid}:status:{self.call_status}"


class _Params(dict[str, list[str]]):
    """Form parameters as RequestValidator reads a multi-dict (`getlist`)."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


class TwilioVoiceAdapter:
    name = NAME
    capabilities = Capabilities(
        max_buttons=0, images=False, location=False, contact=False, max_text=1000, voice=True
    )

    def __init__(
        self,
        *,
        auth_token: str,
        public_url: str,
        voice: str = DEFAULT_VOICE,
        language: str = "vi-VN",
        rate: str | None = "90%",
        speech_model: str | None = None,
        dial_timeout: int = 20,
        shared_key: str | None = None,
        voice_path: str = VOICE_PATH,
        status_path: str = STATUS_PATH,
    ) -> None:
        self._auth_token = auth_token
        self._shared_key = shared_key
        self.public_url = public_url.rstrip("/")
        self.voice = voice
        self.language = language
        self.rate = rate  # SSML prosody rate: a slower, clearer voice ("90%"); None: as is
        self.speech_model = speech_model  # None: Twilio's default for the language
        self.dial_timeout = dial_timeout
        self.voice_path = voice_path
        self.status_path = status_path

    # --- URLs -----------------------------------------------------------------

    def action_url(self, step: int) -> str:
        """Where the next answer is posted: the call route with the step counter."""
        return f"{self.public_url}{self.voice_path}?step={step}"

    @property
    def status_url(self) -> str:
        """Register as the number's call status callback; also the recording callback."""
        return f"{self.public_url}{self.status_path}"

    def public_request_url(self, request: RawRequest) -> str:
        """The URL Twilio signed: the configured public base, the request's path and query."""
        parts = urlsplit(request.url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.public_url}{parts.path}{query}"

    # --- inbound ----------------------------------------------------------------

    def verify(self, request: RawRequest) -> None:
        signature = request.header("x-twilio-signature")
        if not signature:
            raise SignatureError("missing X-Twilio-Signature")
        settings = request.header("x-twilio-webhooks-signature-settings")
        algorithm = get_signature_algorithm(settings)
        token = {HMAC_SHA1: self._auth_token, HMAC_SHA256: self._shared_key}.get(algorithm)
        if not token:
            raise SignatureError(f"no secret for signature algorithm {algorithm}")
        try:
            params = _params(request)
            valid = RequestValidator(token).validate(
                self.public_request_url(request), params, signature, algorithm=algorithm
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise SignatureError(f"cannot check the signature: {exc}") from exc
        if not valid:
            raise SignatureError("X-Twilio-Signature does not match")

    def parse(self, request: RawRequest) -> VoiceEvent:
        """A webhook of the call route: start, keypad, speech, recording, dial end, timeout."""
        form, base = self._base(request)
        step = _step(request)
        if "DialCallStatus" in form:
            event: CallEvent = DialEnded(_member(form["DialCallStatus"], DIAL_STATUSES, "Dial"))
        elif "RecordingUrl" in form or "RecordingStatus" in form:
            event = _recording(form)
        else:
            event = _input(form, base, step)
        return _with(base, event=event, step=step, recording_sid=_recording_sid(form))

    def parse_status(self, request: RawRequest) -> VoiceEvent:
        """A status callback: the call ended, a recording is ready, or mere progress."""
        form, base = self._base(request)
        if "RecordingUrl" in form or "RecordingStatus" in form:
            return _with(base, event=_recording(form), recording_sid=_recording_sid(form))
        status = base.call_status or ""
        event: CallEvent = CallEnded(status) if status in FINAL_STATUSES else CallProgress(status)
        return _with(base, event=event)

    def _base(self, request: RawRequest) -> tuple[dict[str, str], VoiceEvent]:
        if request.method.upper() != "POST":
            raise PayloadError("Twilio voice webhooks are POSTed forms")
        form = request.form()
        call_sid = form.get("CallSid", "")
        if not _CALL_SID.fullmatch(call_sid):
            raise PayloadError("CallSid missing or malformed")
        status = form.get("CallStatus") or None
        if status is not None:
            status = _member(status, CALL_STATUSES, "Call")
        caller = form.get("From") or None
        if caller is not None and (len(caller) > 256 or _CONTROL.search(caller)):
            raise PayloadError("From malformed")
        return form, VoiceEvent(call_sid, NoInput(), caller=caller, call_status=status)

    # --- outbound ---------------------------------------------------------------

    def render(self, actions: Sequence[Action], action_url: str) -> str:
        """TwiML for the call's next steps; `SendSms` is left out (see `sms`)."""
        response = VoiceResponse()
        for action in actions:
            self._render(response, action, action_url)
        return str(response)

    @staticmethod
    def sms(actions: Iterable[Action]) -> tuple[SendSms, ...]:
        """The texts to send after the call, through the SMS adapter."""
        return tuple(a for a in actions if isinstance(a, SendSms))

    def _render(self, response: Any, action: Action, url: str) -> None:
        if isinstance(action, Say):
            self._say(response, action.text)
        elif isinstance(action, GatherDigits):
            gather = response.gather(
                input="dtmf",
                action=url,
                method="POST",
                num_digits=action.num_digits,
                timeout=action.timeout,
                finish_on_key="#",
            )
            self._say(gather, action.prompt)
            response.redirect(url, method="POST")
        elif isinstance(action, GatherSpeech):
            self._say(self._speech(response, action, url), action.prompt)
            response.redirect(url, method="POST")
        elif isinstance(action, Record):
            self._record(response, action, url)
        elif isinstance(action, DialAction):
            response.dial(action.number, action=url, method="POST", timeout=self.dial_timeout)
        elif isinstance(action, Hangup):
            response.hangup()

    def _speech(self, response: Any, action: GatherSpeech, url: str) -> Any:
        # An integer speechTimeout with a speechModel: "auto" is refused there (warning 13335).
        return response.gather(
            input="dtmf speech",
            action=url,
            method="POST",
            language=action.language,
            hints=", ".join(action.hints) or None,
            timeout=action.timeout,
            speech_timeout="auto" if self.speech_model is None else 3,
            speech_model=self.speech_model,
            num_digits=1,
        )

    def _record(self, response: Any, action: Record, url: str) -> None:
        self._say(response, action.prompt)
        response.record(
            action=url,
            method="POST",
            max_length=action.max_length,
            timeout=5,
            finish_on_key="#",
            play_beep=True,
            trim="trim-silence",
            recording_status_callback=self.status_url,
            recording_status_callback_method="POST",
            recording_status_callback_event="completed absent",
        )
        response.redirect(url, method="POST")

    def _say(self, parent: Any, text: str) -> None:
        if self.rate is None:
            parent.say(text, voice=self.voice, language=self.language)
            return
        say = parent.say(voice=self.voice, language=self.language)
        say.prosody(text, rate=self.rate)


# --- parsing helpers -------------------------------------------------------------


def _params(request: RawRequest) -> _Params:
    params = _Params()
    if request.method.upper() == "POST" and request.body:
        for name, value in parse_qsl(request.body.decode("utf-8"), keep_blank_values=True):
            params.setdefault(name, []).append(value)
    return params


def _with(base: VoiceEvent, **update: Any) -> VoiceEvent:
    return replace(base, **update)


def _member(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise PayloadError(f"unknown {what}Status")
    return value


def _step(request: RawRequest) -> int | None:
    raw = request.query.get("step")
    if raw is None:
        raw = dict(parse_qsl(urlsplit(request.url).query)).get("step")
    if raw is None:
        return None
    if not _STEP.fullmatch(raw):
        raise PayloadError("step malformed")
    return int(raw)


def _input(form: dict[str, str], base: VoiceEvent, step: int | None) -> CallEvent:
    speech = " ".join(form.get("SpeechResult", "").split())
    if speech:
        if len(speech) > MAX_SPEECH:
            raise PayloadError("SpeechResult too long")
        return SpeechHeard(speech, _confidence(form.get("Confidence")))
    digits = form.get("Digits", "")
    if digits == "hangup":
        return CallEnded("completed")
    if digits:
        if not _DIGITS.fullmatch(digits):
            raise PayloadError("Digits malformed")
        return DigitsPressed(digits)
    if base.call_status in FINAL_STATUSES:
        return CallEnded(base.call_status or "completed")
    return CallStarted(base.caller) if step is None else NoInput()


def _confidence(raw: str | None) -> float | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise PayloadError("Confidence is not a number") from exc
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise PayloadError("Confidence out of range")
    return value


def _recording(form: dict[str, str]) -> RecordingDone:
    url = form.get("RecordingUrl") or None
    if url is not None and not _URL.fullmatch(url):
        raise PayloadError("RecordingUrl malformed")
    raw = form.get("RecordingDuration", "").strip() or "0"
    if not re.fullmatch(r"-?\d{1,6}", raw):
        raise PayloadError("RecordingDuration malformed")
    if form.get("RecordingStatus", "completed") != "completed":
        url = None  # absent (silence) or failed: nothing to listen to
    return RecordingDone(url=url, duration=max(0, int(raw)))


def _recording_sid(form: dict[str, str]) -> str | None:
    sid = form.get("RecordingSid") or None
    if sid is not None and not _RECORDING_SID.fullmatch(sid):
        raise PayloadError("RecordingSid malformed")
    return sid
