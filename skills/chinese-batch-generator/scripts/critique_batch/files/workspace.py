# GENERATED from scripts/critique_batch/files/workspace.py by tools/generate.py; edit the source, not this copy
"""The workspace: where each file of an expansion lives, and the per-culture lock.

Layout (seed-compatible names), all under `<workspace>/checkpoints/`:
  expansion_plan.json                      the plan (falls back to the bundled default plan)
  {culture}_expansion_candidates.json      the images to critique
  {culture}_expansion_progress.json        derived progress (rebuildable)
  {culture}_batch_{NNN}_input.json         a claimed batch: its images and its lease
  {culture}_batch_{NNN}_output.json        what the subagent wrote (array of records)
  {culture}_batch_{NNN}_result.json        written once at collection: verdicts + accepted records
  {culture}_requeued.json                  failures forgiven by requeue_parked.py
  {culture}_missing_images.json            images parked by a claim because their file does not exist
  {culture}_removed_candidates.json        filepaths remove_candidates.py removed or renamed away
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path

from ..base import filelocks
from ..base.errors import InputError, WorkFailed, environment_failure
from ..base.jsonfiles import TMP_DIR
from .plan import DEFAULT_PLAN, Plan, check_culture_name, load_plan, load_workspace_plan
from .published import URL  # claims do not check that a URL's file exists

def setting(name: str, default: float, kind=int):
    """A number setting: the environment variable $CRITIQUE_BATCH_<NAME> (a whole number, or with
    kind=float any number), else the default."""
    var = f"CRITIQUE_BATCH_{name}"
    raw = os.environ.get(var)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise InputError(f"expected {'a whole number' if kind is int else 'a number'}, got {raw!r}", where=f"${var}") from None
    if not value >= 0:  # NaN too
        raise InputError(f"expected a number >= 0, got {value}", where=f"${var}")
    return value


LOCK_TIMEOUT_S = float(os.environ.get("CRITIQUE_BATCH_LOCK_TIMEOUT", "60"))
# fullmatch, and ASCII digits: a name ending in a newline, or spelled with other digits, is no batch file
# the files taken for images: by a folder import, and for the folders an unattended round may read
IMAGE_SUFFIXES = frozenset((".jpg", ".jpeg", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp"))
BATCH_FILE = re.compile(r"(?P<culture>[a-z][a-z0-9_]{0,31})_batch_(?P<num>[0-9]{3,})_(?P<kind>input|output|result)\.json")


def batch_tag(batch_id: int) -> str:
    """Zero-padded to 3 digits, wider past 999 (seed naming)."""
    return f"{batch_id:03d}"


def parse_batch_id(text: str | int) -> int:
    s = str(text).strip()
    if s.startswith("batch_"):
        s = s[6:]
    if not (s.isascii() and s.isdigit()) or int(s) < 1:  # "²" is a digit to isdigit(), and no number to int()
        raise InputError(f"bad batch id {text!r}: expected a positive number such as 7 or 007", where="BATCH_ID")
    return int(s)


class Workspace:
    def __init__(self, root: Path | str):
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise InputError("workspace folder does not exist", file=self.root, where="--workspace")
        self.checkpoints = self.root / "checkpoints"
        self._plan: Plan | None = None
        self._default_plan: Plan | None = None

    # --- paths -----------------------------------------------------------------------------
    @property
    def own_plan_path(self) -> Path:
        """The workspace's plan file (it may not exist): only what differs from the bundled plan."""
        return self.checkpoints / "expansion_plan.json"

    @property
    def plan_path(self) -> Path:
        own = self.own_plan_path
        return own if own.exists() else DEFAULT_PLAN

    def candidates_path(self, culture: str) -> Path:
        return self.checkpoints / f"{culture}_expansion_candidates.json"

    def progress_path(self, culture: str) -> Path:
        return self.checkpoints / f"{culture}_expansion_progress.json"

    def requeue_path(self, culture: str) -> Path:
        return self.checkpoints / f"{culture}_requeued.json"

    def missing_images_path(self, culture: str) -> Path:
        return self.checkpoints / f"{culture}_missing_images.json"

    def removed_candidates_path(self, culture: str) -> Path:
        return self.checkpoints / f"{culture}_removed_candidates.json"

    def image_file(self, filepath: str) -> Path | None:
        """The local file of a candidate's filepath (relative to the workspace, or absolute), or
        None when it names no local file (a URL or an object store such as s3:// or gs://)."""
        if URL.match(filepath):
            return None
        return self.root / filepath

    def image_missing(self, filepath: str) -> Path | None:
        """The path looked for when the image's local file does not exist (one stat), else None."""
        path = self.image_file(filepath)
        return path if path is not None and not path.exists() else None

    def batch_path(self, culture: str, batch_id: int, kind: str) -> Path:
        return self.checkpoints / f"{culture}_batch_{batch_tag(batch_id)}_{kind}.json"

    def batch_files(self, culture: str) -> dict[str, list[int]]:
        """Batch ids with a file of each kind on disk, from one listing of checkpoints/ (rebuilds and
        reports only: the hot paths never list the folder)."""
        ids: dict[str, list[int]] = {"input": [], "output": [], "result": []}
        try:
            entries = list(os.scandir(self.checkpoints))
        except OSError:
            return ids
        prefix = f"{culture}_batch_"
        for entry in entries:
            if entry.name.startswith(prefix):
                m = BATCH_FILE.fullmatch(entry.name)
                if m and m["culture"] == culture:
                    ids[m["kind"]].append(int(m["num"]))
        return {k: sorted(v) for k, v in ids.items()}

    def batch_ids(self, culture: str, kind: str) -> list[int]:
        """Batch ids that have a file of this kind on disk."""
        return self.batch_files(culture)[kind]

    def display(self, path: Path) -> str:
        """A path as the user should see it: relative to the current directory when inside it."""
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def owns(self, culture: str, name: str) -> bool:
        """Is `name` (a file name in checkpoints/) one of this culture's state files?"""
        m = BATCH_FILE.fullmatch(name)
        if m:
            return m["culture"] == culture
        return name in (f"{culture}_expansion_candidates.json", f"{culture}_expansion_progress.json", f"{culture}_requeued.json",
                        f"{culture}_missing_images.json", f"{culture}_removed_candidates.json")

    def remove_stale_temp_files(self, culture: str) -> None:
        """Remove temporary files of this culture left by a killed process. Call with the lock
        held: every write of a culture's files happens under its lock, so any left now is dead."""
        for tmp in (self.checkpoints / TMP_DIR, self.checkpoints / ".valid" / TMP_DIR):
            try:
                names = [e.name for e in os.scandir(tmp) if e.name.startswith(culture) and e.name.endswith(".tmp")]
            except OSError:
                continue  # no such folder: nothing was ever left there
            for name in names:
                if self.owns(culture, name.rsplit(".", 2)[0]):  # "{file}.{random}.tmp" -> "{file}"
                    try:
                        os.unlink(tmp / name)
                    except OSError:
                        pass

    # --- plan ------------------------------------------------------------------------------
    @property
    def plan(self) -> Plan:
        if self._plan is None:
            path = self.plan_path
            self._plan = self.default_plan if path == DEFAULT_PLAN else load_workspace_plan(path)
        return self._plan

    @property
    def default_plan(self) -> Plan:
        """The bundled plan (the same object as `plan` when the workspace has no plan of its own)."""
        if self._default_plan is None:
            # its passed check is remembered in the workspace, never beside the plan itself (that
            # folder belongs to an installed skill)
            self._default_plan = load_plan(DEFAULT_PLAN, self.checkpoints / ".valid" / "default_expansion_plan.json")
        return self._default_plan

    def culture(self, name: str):
        check_culture_name(name)
        if self.plan_path == DEFAULT_PLAN and name not in self.plan.cultures:
            # the bundled plan lives inside the scripts folder: point at the workspace's own plan instead
            own = self.own_plan_path
            raise self.plan.unknown_culture(
                name, f"write {own} with only what differs from the bundled plan ({DEFAULT_PLAN}), merged over it: "
                f"{{\"cultures\": {{\"{name}\": {{\"prefix\": ..., \"current\": 0, \"target\": ..., \"dimensions\": [...]}}}}}}", own)
        return self.plan.culture(name)

    def configured_cultures(self) -> list[str]:
        """Cultures of the plan that have a candidates file in this workspace."""
        return [c for c in self.plan.cultures if self.candidates_path(c).exists()]

    def culture_names(self, culture: str | None) -> list[str]:
        """The one culture a script was given (checked against the plan), or every configured one."""
        return [self.culture(culture).name] if culture else self.configured_cultures()

    # --- locking ---------------------------------------------------------------------------
    @contextmanager
    def lock(self, culture: str):
        """Exclusive per-culture lock: every change to a culture's state happens under it."""
        with self.named_lock(f"{culture}.lock", LOCK_TIMEOUT_S, f"{culture}: another process has held the lock"):
            yield

    @contextmanager
    def named_lock(self, name: str, timeout: float, busy: str):
        """An exclusive file lock in checkpoints/.locks/; `busy` starts the message on a timeout."""
        locks = self.checkpoints / ".locks"
        try:
            filelocks.make_folder(locks)
        except OSError as exc:
            raise environment_failure(f"cannot write to {self.checkpoints}", exc) from None
        try:
            release = filelocks.acquire(locks / name, timeout)
        except filelocks.LockTimeout:
            raise WorkFailed(f"{busy} for {timeout:.0f} s; try again later") from None
        except OSError as exc:
            raise environment_failure(f"cannot create the lock in {locks}", exc) from None
        try:
            yield
        finally:
            release()
