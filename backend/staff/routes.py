"""Placeholder router, filled in by the staff console work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
