"""Structured (JSON) logs with phone and ID numbers masked in every record.

Hand-written because it is a dozen lines on top of `logging`; the masking
rules are ours (Vietnamese phone numbers, 9/12-digit CMND/CCCD numbers).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

_PII = re.compile(
    r"(?<!\d)(?:\+?84|0)(?:[\s.\-]?\d){8,9}(?!\d)|(?<!\d)\d{12}(?!\d)|(?<!\d)\d{9}(?!\d)"
)


# Report codes (YYYYMMDD + the day's sequence) are public, and twelve digits long like a
# CCCD; a CCCD starts with its province code (001-096), so it never has a code's shape.
_REPORT_CODE = re.compile(r"20\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{4,5}")


def is_report_code(text: str) -> bool:
    return _REPORT_CODE.fullmatch(text) is not None


def mask_number(match: re.Match[str]) -> str:
    """A matched phone or ID number as ******123; a report code is left as it is."""
    found = match.group(0)
    return found if is_report_code(found) else "*" * 6 + re.sub(r"\D", "", found)[-3:]


def mask_pii(text: str) -> str:
    """Replace phone numbers and CMND/CCCD numbers, keeping the last 3 digits for support."""
    return _PII.sub(mask_number, text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": mask_pii(record.getMessage()),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update({k: mask_pii(str(v)) for k, v in extra.items()})
        if record.exc_info:
            entry["error"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per provider request
