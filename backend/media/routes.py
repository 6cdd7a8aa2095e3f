"""HTTP side of the media store: which store a request uses, serving media, taking uploads.

`GET /media/{key}` serves only keys the store itself produced (`check_key`: the
content-address shape, nothing else), with `serving_headers` (the sniffed type,
`nosniff`, a sandboxing CSP); any other path, a missing object or a symlink under the
root answers 404, so nobody reaches a file outside the media root. `store_upload` is
what the web chat's upload route does with the bytes: `ingest` them (sniffed, bounded,
thumbnailed) into the store, mapping refusals to 4xx answers in Vietnamese.

The store is `app.state.media_store` when the application sets one, otherwise the
default local folder (`backend.media.service.default_store`), the same one the
pipeline's media step uses by default.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, UploadFile
from fastapi.responses import Response

from backend.media import (
    ImageError,
    InvalidKey,
    MediaLimits,
    MediaStore,
    MissingMedia,
    StoredMedia,
    StoreUnavailable,
    TooLarge,
    UnsupportedMedia,
    ingest,
    serving_headers,
)
from backend.media.service import default_store

router = APIRouter()

NOT_FOUND = "Không tìm thấy tệp."
UNAVAILABLE = "Kho lưu trữ tạm thời không sẵn sàng, vui lòng thử lại."


def media_store(request: Request) -> MediaStore:
    store: MediaStore | None = getattr(request.app.state, "media_store", None)
    if store is None:
        store = default_store()
        request.app.state.media_store = store
    return store


MediaStoreDep = Annotated[MediaStore, Depends(media_store)]


@router.get("/media/{key:path}", include_in_schema=False)
async def serve_media(key: str, store: MediaStoreDep) -> Response:
    """A stored file with its sniffed type; 404 for anything that is not a stored key."""
    try:
        headers = serving_headers(key)
        data = await store.read(key)
    except (InvalidKey, MissingMedia) as exc:
        raise HTTPException(status_code=404, detail=NOT_FOUND) from exc
    except StoreUnavailable as exc:
        raise HTTPException(status_code=503, detail=UNAVAILABLE) from exc
    return Response(content=data, headers=headers)


async def store_upload(
    file: UploadFile, *, store: MediaStore, limits: MediaLimits | None = None
) -> StoredMedia:
    """Check and store an uploaded file; refusals become HTTP errors the chat can show."""
    limits = limits or MediaLimits()
    cap = limits.download.max_bytes
    data = await file.read(cap + 1)
    if not data:
        raise HTTPException(status_code=422, detail="Tệp rỗng.")
    try:
        return await ingest(data, store=store, client=None, limits=limits)
    except TooLarge as exc:
        detail = f"Tệp quá lớn (tối đa {cap // (1024 * 1024)} MB)."
        raise HTTPException(status_code=413, detail=detail) from exc
    except UnsupportedMedia as exc:
        detail = "Chỉ nhận ảnh, video hoặc ghi âm."
        raise HTTPException(status_code=415, detail=detail) from exc
    except ImageError as exc:
        detail = "Ảnh bị hỏng hoặc quá lớn, không đọc được."
        raise HTTPException(status_code=422, detail=detail) from exc
    except StoreUnavailable as exc:
        raise HTTPException(status_code=503, detail=UNAVAILABLE) from exc
