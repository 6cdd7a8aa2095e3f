"""Logs never contain a citizen's phone or ID number."""

from __future__ import annotations

import json
import logging

from backend.logs import JsonFormatter, mask_pii


def test_phone_and_id_numbers_are_masked() -> None:
    text = "gọi 0912 345 678 hoặc +84 987654321, CCCD 079123456789, CMND 123456789"
    masked = mask_pii(text)
    for secret in ("0912 345 678", "987654321", "079123456789", "123456789"):
        assert secret not in masked
    assert "******678" in masked


def test_json_log_line_is_masked() -> None:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "sdt %s", ("0912345678",), None)
    line = json.loads(JsonFormatter().format(record))
    assert "0912345678" not in line["message"]
    assert line["level"] == "INFO"
