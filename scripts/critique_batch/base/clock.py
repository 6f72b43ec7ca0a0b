"""Time in one place. CRITIQUE_BATCH_NOW (ISO-8601) pins the clock, for tests of lease expiry."""

from __future__ import annotations

import os
from datetime import datetime, timezone


def now() -> datetime:
    pinned = os.environ.get("CRITIQUE_BATCH_NOW")
    if pinned:
        return parse_time(pinned)
    return datetime.now(timezone.utc)


def iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
