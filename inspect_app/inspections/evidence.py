"""Photos of an inspection: limits, processing, earlier uploads referenced by sha256, and linking
them to findings, hazards and events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from .. import photos
from ..models import (
    Photo,
)


@dataclass
class Upload:
    raw: bytes
    processed: photos.Processed | None = None


def read_files(values: Any) -> list[bytes]:
    """Bytes of the uploaded files in a MultipleFileField's data (empty parts skipped)."""
    out = []
    for f in values or ():
        if f is None or isinstance(f, str):
            continue
        data = f.read()
        if data or getattr(f, "filename", ""):
            out.append(data)
    return out


# Photos one field (a finding's or a follow-up's photos, new and earlier uploads together) and
# one submission may carry: enough for any real inspection, few enough that a submission cannot
# make the server decode hundreds of images.
MAX_PHOTOS_PER_FIELD = 10


MAX_PHOTOS_PER_SUBMISSION = 60


def too_many_photos(files, data, errors) -> bool:
    """Add an error to every field over ``MAX_PHOTOS_PER_FIELD`` and to the form when the whole
    submission is over ``MAX_PHOTOS_PER_SUBMISSION``; True if any limit is exceeded."""
    counts: dict[str, int] = {name: len(raws) for name, raws in files.items()}
    for section in ("findings", "followups"):
        for i, entry in enumerate(data.get(section) or ()):
            for key in ("photo_refs", "after_photo_refs"):
                name = f"{section}-{i}-{key.replace('photo_refs', 'photos')}"
                counts[name] = counts.get(name, 0) + len([s for s in entry.get(key) or () if s])
    over = False
    for name, n in counts.items():
        if n > MAX_PHOTOS_PER_FIELD:
            errors.add(name, f"每项最多 {MAX_PHOTOS_PER_FIELD} 张照片，这里有 {n} 张")
            over = True
    total = sum(counts.values())
    if total > MAX_PHOTOS_PER_SUBMISSION:
        errors.add(
            "", f"一次提交最多 {MAX_PHOTOS_PER_SUBMISSION} 张照片，这次有 {total} 张，请分批提交"
        )
        over = True
    return over


def process_photos(files, errors, max_pixels) -> dict[str, list[Upload]]:
    uploads: dict[str, list[Upload]] = {}
    for name, raws in files.items():
        done = []
        for n, raw in enumerate(raws, 1):
            try:
                done.append(Upload(raw, photos.process(raw, max_pixels=max_pixels)))
            except photos.PhotoError as err:
                errors.add(name, f"第 {n} 张照片：{err}")
        uploads[name] = done
    return uploads


def check_refs(session, user, data, errors) -> dict[str, list[Photo]]:
    """Photos uploaded earlier through the photo endpoint, referenced by sha256."""
    refs: dict[str, list[Photo]] = {}
    for section in ("findings", "followups"):
        for i, entry in enumerate(data.get(section) or ()):
            for key in ("photo_refs", "after_photo_refs"):
                shas = [s for s in (entry.get(key) or ()) if s]
                if not shas:
                    continue
                name = f"{section}-{i}-{key}"
                found = []
                for sha in shas:
                    photo = session.scalar(
                        select(Photo)
                        .where(Photo.sha256 == sha, Photo.uploaded_by_id == user.id)
                        .order_by(Photo.id)
                        .limit(1)
                    )
                    if photo is None:
                        errors.add(name, f"照片 {sha[:12]}… 未上传或已过期，请重新上传")
                    else:
                        found.append(photo)
                refs[name] = found
    return refs


def _count(name: str, uploads, refs) -> int:
    ref_name = name.replace("photos", "photo_refs")
    return len(uploads.get(name, ())) + len(refs.get(ref_name, ()))


def require_photos(answers, followups, uploads, refs, errors) -> None:
    for i, answer in answers:
        if answer.result == "fail" and answer.entry.get("disposition") == "fixed":
            name = f"findings-{i}-after_photos"
            if not _count(name, uploads, refs) and name not in errors.errors:
                errors.add(name, "当场整改需要上传整改后照片")
    for i, _hazard, entry in followups:
        name = f"followups-{i}-photos"
        if entry["outcome"] == "fixed" and not _count(name, uploads, refs):
            errors.add(name, "已整改需要上传整改照片")


def attach(session, name, uploads, refs, user, **links) -> None:
    """Link the photos of field ``name`` (new uploads and earlier references) to the objects in
    ``links`` (``finding=``, ``hazard=``, ``event=``). Relationships, not ids, so that nothing
    needs a flush until the whole inspection is written."""
    for u in uploads.get(name, ()):
        session.add(photos.photo_row(u.processed, uploaded_by_id=user.id, **links))
    for photo in refs.get(name.replace("photos", "photo_refs"), ()):
        photos.link_reference(session, photo, uploaded_by_id=user.id, **links)
