# GENERATED from scripts/critique_batch/store/shared_claims.py by tools/generate.py; edit the source, not this copy
"""Claims shared by several workspaces (other machines) expanding the same candidates: one Lance
table per culture, `claims_<culture>`, in a folder or an object store (s3://...), one row per image.

Off unless configured: the plan's `"claims": {"uri": ..., "storage_options": {...}}`, or
$CRITIQUE_BATCH_CLAIMS (a URI; storage options as for the database: the plan's, then
$CRITIQUE_BATCH_STORAGE_OPTIONS and the AWS_* variables). Importing this module imports nothing
heavy: lancedb is imported only once a table is opened, so a claim without the setting stays lean.

Exactly once, through the engine, not a protocol of our own: the `key` column (the image's
filepath) carries the field metadata `lance-schema:unenforced-primary-key`, and a claim is an
insert-only merge_insert (when_not_matched_insert_all, use_index(False)). Lance then fails (and
retries) a commit that races another writer inserting the same new key, instead of committing a
second row (measured with lancedb 0.40: without the metadata the same race commits duplicates).
Which keys a claim won is read back by its claim id (a random UUID): a retried commit may report
0 inserted rows. Every other change is conditional on the claim id seen (merge_insert's
when_matched_update_all(where=...), or a delete whose predicate names it), so of two workspaces
acting on one row at most one succeeds.

A row: key, workspace_id (the claimer), claim_id, prev_claim_id (the claim it took over), state
("claimed", "done" or "parked"), lease_expires_ms, updated_ms, batch_id (the claimer's local
batch), reason (why it was parked). A released image has no row: it is free for any workspace.

Housekeeping: every write commits a table version, and small fragments and old versions slow every
later claim (each read lists the versions to find the newest: on S3, 200 versions tripled a
claim's time), so once every `optimize_every` versions ($CRITIQUE_BATCH_CLAIMS_OPTIMIZE_EVERY,
default 50) a writer compacts the table and removes versions older than
$CRITIQUE_BATCH_CLAIMS_KEEP_VERSIONS_S (30 s: a claim reads the newest version, well within that).
"""

from __future__ import annotations

import os

from ..base import faults
from ..base.clock import iso, now, parse_time
from ..base.errors import InputError

ENV = "CRITIQUE_BATCH_CLAIMS"
PK_METADATA = "lance-schema:unenforced-primary-key"
# the version whose primary-key conflict check was measured (issue 22); an older one may commit duplicates
MIN_LANCEDB = (0, 40)
OPTIMIZE_EVERY = 50
KEEP_VERSIONS_S = 30
KEY_CHUNK = 500  # keys per `key IN (...)` predicate
CLAIMED, DONE, PARKED = "claimed", "done", "parked"
COLUMNS = ("key", "workspace_id", "claim_id", "prev_claim_id", "state", "lease_expires_ms", "updated_ms", "batch_id",
           "reason")


def configured(ws) -> dict | None:
    """The claims setting ({"uri", "storage_options", "from"}), or None: claims are not shared."""
    env = os.environ.get(ENV, "").strip()
    conf = ws.plan.claims
    if env:
        return {**conf, "uri": env, "from": f"${ENV}"}
    if conf:
        return {**conf, "from": f"{ws.display(ws.plan.path)}: claims.uri"}
    return None


def new_claim_id() -> str:
    import uuid  # here: it imports platform (6 ms), which a claim without shared claims must not pay

    return uuid.uuid4().hex


def table_name(culture: str) -> str:
    return f"claims_{culture}"


def now_ms() -> int:
    return _ms(now())


def _ms(t) -> int:
    return int(t.timestamp() * 1000)


def _taken(row: dict, here: str, at_ms: int, gone=frozenset()) -> bool:
    """Not for workspace `here` to claim at `at_ms`: done or parked, or claimed by another workspace
    under a live lease (unless that workspace is confirmed gone)."""
    return row["state"] != CLAIMED or (row["workspace_id"] != here and row["lease_expires_ms"] >= at_ms
                                       and row["workspace_id"] not in gone)


def _sql(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _keys_in(keys) -> list[str]:
    keys = sorted(set(keys))
    return ["key IN (" + ", ".join(_sql(k) for k in keys[i:i + KEY_CHUNK]) + ")"
            for i in range(0, len(keys), KEY_CHUNK)]


def lancedb_version_ok(version: str) -> bool:
    parts = []
    for p in version.split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts) >= MIN_LANCEDB


class Claims:
    """One culture's shared claims table, seen from one workspace."""

    def __init__(self, ws, culture: str, workspace_id: str, conf: dict | None = None, *, require_key: bool = True):
        from . import database
        from ..files.workspace import setting

        conf = conf or configured(ws)
        if not conf:
            raise ValueError("shared claims are not configured")
        self.culture = culture
        self.workspace_id = workspace_id
        self.name = table_name(culture)
        where = conf.get("from", "claims.uri")
        self.target = database.target_at(ws, conf["uri"], database.storage_options(conf.get("storage_options")),
                                         relative_to_cwd=where.startswith("$"), where=where)
        self.optimize_every = setting("CLAIMS_OPTIMIZE_EVERY", conf.get("optimize_every", OPTIMIZE_EVERY))
        self.keep_versions_s = setting("CLAIMS_KEEP_VERSIONS_S", KEEP_VERSIONS_S)
        self.require_key = require_key  # False only for the test that shows the race without the key metadata
        self._table = None
        self.housekept = 0  # housekeeping runs by this object (benchmarks, tests)

    # --- the table -------------------------------------------------------------------------
    @staticmethod
    def schema(with_key: bool = True):
        import pyarrow as pa

        s, i64 = pa.string(), pa.int64()
        key = pa.field("key", s, nullable=False)
        if with_key:
            key = key.with_metadata({PK_METADATA: "true"})
        return pa.schema([key, pa.field("workspace_id", s), pa.field("claim_id", s), pa.field("prev_claim_id", s),
                          pa.field("state", s), pa.field("lease_expires_ms", i64), pa.field("updated_ms", i64),
                          pa.field("batch_id", i64), pa.field("reason", s)])

    @property
    def table(self):
        if self._table is None:
            self._table = self._open()
        return self._table

    def _open(self):
        from datetime import timedelta

        from . import database
        from ..base.errors import EnvironmentFailure, InputError

        lancedb = database.require_lancedb()
        version = getattr(lancedb, "__version__", "0")
        if self.require_key and not lancedb_version_ok(version):
            raise EnvironmentFailure(
                f"shared claims need lancedb >= {'.'.join(map(str, MIN_LANCEDB))} "
                "(its primary-key conflict check keeps a claim exactly once), "
                f"found {version}; pip install -U 'lancedb>={'.'.join(map(str, MIN_LANCEDB))}'")
        # read_consistency_interval 0: every read sees the newest version other workspaces committed
        conn = database.connect(self.target, "cannot open the shared claims database",
                                read_consistency_interval=timedelta(0))
        with database.db_errors(self.target, f"cannot open the {self.name} table"):
            try:
                table = conn.open_table(self.name)
            except ValueError as exc:
                if "not found" not in str(exc).lower():
                    raise
                # exist_ok: another workspace may create it first (then its schema must be this one)
                table = conn.create_table(self.name, schema=self.schema(self.require_key), exist_ok=True)
        missing = [c for c in COLUMNS if c not in table.schema.names]
        if missing:
            raise InputError(f"table {self.name} is no claims table (no column {', '.join(missing)}); "
                             "point the claims setting at a folder or bucket of its own",
                             where=f"shared claims ({self.target.shown})")
        if self.require_key and not self.has_primary_key(table):
            raise InputError(f"table {self.name} lacks the field metadata {PK_METADATA!r} on its key column, "
                             "without which two workspaces can win the same image; move it aside "
                             "(no claim is lost: released and unfinished images are claimed again)",
                             where=f"shared claims ({self.target.shown})")
        return table

    @staticmethod
    def has_primary_key(table) -> bool:
        meta = table.schema.field("key").metadata or {}
        return any((k.decode() if isinstance(k, bytes) else k).startswith(PK_METADATA) for k in meta)

    def _retrying(self, doing: str, attempt):
        from .database import retrying

        return retrying(self.target, doing, attempt, self.table)

    def _query(self, where: str | None, columns=COLUMNS) -> list[dict]:
        from .database import db_errors

        with db_errors(self.target, f"cannot read the {self.name} table"):
            q = self.table.search()
            if where:
                q = q.where(where)
            return q.select(list(columns)).to_arrow().to_pylist()

    def rows(self, keys=None) -> list[dict]:
        """Every row (keys None), or the rows of these keys."""
        if keys is None:
            return self._query(None)
        out: list[dict] = []
        for where in _keys_in(keys):
            out += self._query(where)
        return out

    def of_claim(self, claim_id: str) -> list[dict]:
        return self._query(f"claim_id = {_sql(claim_id)}")

    def of_workspace(self, state: str | None = CLAIMED) -> list[dict]:
        """This workspace's rows (in a state): what a session that crashed after the shared commit left."""
        where = f"workspace_id = {_sql(self.workspace_id)}" + (f" AND state = {_sql(state)}" if state else "")
        return self._query(where)

    def _arrow(self, rows: list[dict]):
        import pyarrow as pa

        schema = self.schema(self.require_key)
        return pa.table({f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in schema}, schema=schema)

    def _merge(self, doing: str, rows: list[dict], *, update_where: str | None):
        """One merge_insert on key: insert-only (update_where None), or update-only under a condition."""
        data = self._arrow(rows)

        def merge():
            builder = self.table.merge_insert("key")
            if update_where is None:
                builder = builder.when_not_matched_insert_all()
            else:
                builder = builder.when_matched_update_all(where=update_where)
            return builder.use_index(False).execute(data)

        return self._retrying(doing, merge)

    def _row(self, key: str, claim_id: str, lease_expires_ms: int, **more) -> dict:
        return {"key": key, "workspace_id": self.workspace_id, "claim_id": claim_id,
                "prev_claim_id": more.get("prev_claim_id"),
                "state": more.get("state", CLAIMED), "lease_expires_ms": int(lease_expires_ms),
                "updated_ms": more.get("updated_ms") or now_ms(), "batch_id": more.get("batch_id"),
                "reason": more.get("reason")}

    # --- claiming --------------------------------------------------------------------------
    def claim(self, keys, lease_expires_ms: int, batch_of: dict | None = None) -> tuple[str, list[str]]:
        """Try to win these keys (images no row names) under a new claim id. Returns (claim id,
        the keys won), as read back: the truth whatever the commit reported. No commit when every
        key is already taken (each commit is a table version)."""
        claim_id = new_claim_id()
        keys = list(dict.fromkeys(keys))
        taken = {r["key"] for r in self.rows(keys)} if keys else set()
        free = [k for k in keys if k not in taken]
        if not free:
            return claim_id, []
        before = self._version()
        stamp = now_ms()
        rows = [self._row(k, claim_id, lease_expires_ms, updated_ms=stamp, batch_id=(batch_of or {}).get(k))
                for k in free]
        faults.point("shared.claiming")
        self._merge(f"cannot claim images in the {self.name} table", rows, update_where=None)
        faults.point("shared.claimed")
        won = {r["key"] for r in self.of_claim(claim_id)}
        self._after_write(before)
        return claim_id, [k for k in free if k in won]

    def take_over(self, seen: dict[str, str], lease_expires_ms: int, now: int | None = None,
                  batch_of: dict | None = None, *, dead: bool = False) -> tuple[str, list[str]]:
        """Take over claims whose lease has ended: seen is {key: the claim id seen on it}. A row
        changes only if it still carries that claim id, unfinished, with its lease over at `now`:
        of two workspaces taking over one image (or its owner renewing it) at most one succeeds.
        `dead`: the user confirmed that the workspace holding them is gone, so a live lease is
        taken over too (still only from the claim id seen)."""
        claim_id = new_claim_id()
        if not seen:
            return claim_id, []
        now = now_ms() if now is None else int(now)
        before = self._version()
        rows = [self._row(k, claim_id, lease_expires_ms, prev_claim_id=old, batch_id=(batch_of or {}).get(k))
                for k, old in seen.items()]
        cond = f"target.claim_id = source.prev_claim_id AND target.state = '{CLAIMED}'"
        if not dead:
            cond += f" AND target.lease_expires_ms < {now}"
        self._merge(f"cannot take over claims in the {self.name} table", rows, update_where=cond)
        faults.point("shared.taken-over")
        won = {r["key"] for r in self.of_claim(claim_id)}
        self._after_write(before)
        return claim_id, [k for k in seen if k in won]

    # --- changes to one's own claims (conditional on the claim id) -------------------------
    def _change_mine(self, doing: str, claim_id: str, keys, change: dict, point: str) -> list[str]:
        """Rows of this claim among keys, still claimed, changed as `change` says; returns the keys changed."""
        keys = set(keys)
        mine = [r for r in self.of_claim(claim_id) if r["key"] in keys and r["state"] == CLAIMED]
        if not mine:
            return []
        before = self._version()
        stamp = now_ms()
        rows = [{**r, "updated_ms": stamp, **(change(r) if callable(change) else change)} for r in mine]
        cond = f"target.claim_id = source.claim_id AND target.state = '{CLAIMED}'"
        self._merge(doing, rows, update_where=cond)
        faults.point(point)
        want = {r["key"]: r for r in rows}
        now_rows = {r["key"]: r for r in self.of_claim(claim_id)}
        self._after_write(before)
        changed = [k for k, r in want.items() if k in now_rows and now_rows[k]["state"] == r["state"]
                   and now_rows[k]["lease_expires_ms"] == r["lease_expires_ms"] and now_rows[k]["updated_ms"] == stamp]
        return sorted(changed)

    def renew(self, claim_id: str, keys, lease_expires_ms: int) -> list[str]:
        """Extend the lease of this claim's unfinished keys (those it still holds)."""
        return self._change_mine(f"cannot renew claims in the {self.name} table", claim_id, keys,
                                 {"lease_expires_ms": int(lease_expires_ms)}, "shared.renewed")

    def mark_done(self, claim_id: str, keys) -> list[str]:
        """Accepted: these images are done for every workspace. Returns the keys marked (a key
        taken over by another workspace meanwhile is not: that workspace critiques it)."""
        return self._change_mine(f"cannot mark images done in the {self.name} table", claim_id, keys, {"state": DONE},
                                 "shared.done")

    def park(self, claim_id: str, reasons: dict[str, str]) -> list[str]:
        """Parked with a reason (no workspace claims them again until released)."""
        return self._change_mine(f"cannot park images in the {self.name} table", claim_id, reasons,
                                 lambda r: {"state": PARKED, "reason": reasons[r["key"]]}, "shared.parked")

    def release(self, claim_id: str, keys) -> int:
        """Returned, or never used: the images become free for any workspace (their rows go).
        Only rows still carrying this claim id, unfinished, are removed. Returns how many went."""
        keys = set(keys)
        held = {r["key"] for r in self.of_claim(claim_id) if r["key"] in keys and r["state"] == CLAIMED}
        if not held:
            return 0
        before = self._version()
        for where in _keys_in(held):
            pred = f"claim_id = {_sql(claim_id)} AND state = '{CLAIMED}' AND {where}"
            self._retrying(f"cannot release claims in the {self.name} table", lambda pred=pred: self.table.delete(pred))
        faults.point("shared.released")
        left = {r["key"] for r in self.of_claim(claim_id)}
        self._after_write(before)
        return len(held - left)

    def release_parked(self, keys) -> int:
        """Parked images forgiven (requeued): free again, whoever parked them."""
        keys = list(keys)
        for where in _keys_in(keys):
            pred = f"state = '{PARKED}' AND {where}"
            self._retrying(f"cannot release parked images in the {self.name} table",
                           lambda pred=pred: self.table.delete(pred))
        return len(keys)

    # --- status ----------------------------------------------------------------------------
    def summary(self, now: int | None = None) -> dict:
        """The shared expansion seen from this workspace: done here / elsewhere, claimed here /
        elsewhere (per workspace: images and the latest lease end), parked, expired claims."""
        now = now_ms() if now is None else int(now)
        out = {"uri": self.target.shown, "table": self.name, "done_here": 0, "done_elsewhere": 0, "claimed_here": 0,
               "claimed_elsewhere": 0, "parked": 0, "expired": 0, "elsewhere": {}}
        for r in self._query(None, ("workspace_id", "state", "lease_expires_ms")):
            here = r["workspace_id"] == self.workspace_id
            if r["state"] == DONE:
                out["done_here" if here else "done_elsewhere"] += 1
            elif r["state"] == PARKED:
                out["parked"] += 1
            else:
                out["claimed_here" if here else "claimed_elsewhere"] += 1
                if r["lease_expires_ms"] < now:
                    out["expired"] += 1
                if not here:
                    w = out["elsewhere"].setdefault(r["workspace_id"], {"claimed": 0, "lease_expires_ms": 0})
                    w["claimed"] += 1
                    w["lease_expires_ms"] = max(w["lease_expires_ms"], r["lease_expires_ms"])
        return out

    # --- housekeeping ----------------------------------------------------------------------
    def _version(self) -> int:
        from .database import db_errors

        with db_errors(self.target, f"cannot read the {self.name} table"):
            return self.table.version

    def _after_write(self, before: int) -> None:
        """Housekeeping when this write's versions crossed a multiple of optimize_every."""
        every = self.optimize_every
        if every and self._version() // every > before // every:
            self.housekeeping()

    def housekeeping(self) -> bool:
        """Compact the table's fragments and remove old versions. A failure (another writer
        compacting at the same time) is no error: the next multiple tries again."""
        import sys
        from datetime import timedelta

        from ..base.errors import WorkFailed

        try:
            self._retrying(f"cannot compact the {self.name} table",
                           lambda: self.table.optimize(cleanup_older_than=timedelta(seconds=self.keep_versions_s)))
        except WorkFailed as exc:
            print(f"warning: {exc}; tried again later", file=sys.stderr)
            return False
        faults.point("shared.housekept")
        self.housekept += 1
        return True


# --- the expansion loop's side (engine.Session calls these when claims are shared) ----------------

TOP_UPS = 3  # rounds of a claim picking again for the images other workspaces won meanwhile


def workspace_id(ws) -> str:
    """This workspace's id (checkpoints/workspace_id.json, as the database sync uses), made under
    the sync lock if it does not exist yet: two processes must never make two ids."""
    from . import sync_state
    from ..base.jsonfiles import read_json

    doc = read_json(ws.checkpoints / sync_state.WORKSPACE_ID_FILE, "workspace_id", missing_ok=True)
    if doc is not None:
        return doc["workspace_id"]
    with sync_state.sync_lock(ws, 60):
        return sync_state.workspace_id(ws)


def for_session(session, dead_workspaces: list[str] | None = None) -> "SharedExpansion | None":
    """The shared claims a Session's claim and collection are given (agent/dispatch.py), or None
    when claims are not shared (then nothing here imports lancedb). `dead_workspaces`: ids (or
    their first characters, as status shows them) of workspaces the user confirmed are gone: their
    claims are taken over at once, lease or not."""
    return SharedExpansion(session, dead_workspaces) if configured(session.ws) else None


class SharedExpansion:
    """One Session's view of the shared claims (the culture's lock is held: no other process of this
    workspace changes its claims meanwhile). The state layer calls it without importing it."""

    def __init__(self, session, dead_workspaces: list[str] | None = None):
        self.s = session
        self.claims = Claims(session.ws, session.name, workspace_id(session.ws))
        self.wid = self.claims.workspace_id
        self._rows: dict[str, dict] | None = None
        self.skipped = 0  # images a pick passed over: claimed or done by other workspaces
        self.dead = self._resolve(dead_workspaces or [])  # workspaces confirmed gone: their claims are free

    def _resolve(self, prefixes: list[str]) -> set[str]:
        """Full ids of the workspaces named by these ids or prefixes, among those holding claims."""
        holders = {r["workspace_id"] for r in self.rows().values() if r["state"] == CLAIMED}
        out = set()
        for p in prefixes:
            found = {w for w in holders if w.startswith(p)} if p else set()
            if self.wid.startswith(p):
                raise InputError(f"{p!r} is this workspace", where="--take-over-workspace")
            if len(found) != 1:
                raise InputError(f"{p!r} names {'no' if not found else 'more than one'} workspace holding claims of "
                                 f"{self.s.name} (batch_status.py --culture {self.s.name} lists them)",
                                 where="--take-over-workspace")
            out |= found
        return out

    def rows(self) -> dict[str, dict]:
        if self._rows is None:
            self._rows = {r["key"]: r for r in self.claims.rows()}
        return self._rows

    def _refresh(self, keys) -> dict[str, dict]:
        fresh = {r["key"]: r for r in self.claims.rows(keys)}
        rows = self.rows()
        for k in keys:
            if k in fresh:
                rows[k] = fresh[k]
            else:
                rows.pop(k, None)
        return fresh

    def _available(self, row: dict | None, now: int) -> bool:
        """Free, or a claim of another workspace whose lease has ended or that is confirmed gone
        (taken over)."""
        return row is None or (row["state"] == CLAIMED and row["workspace_id"] != self.wid
                               and (row["lease_expires_ms"] < now or row["workspace_id"] in self.dead))

    def reconcile(self) -> int:
        """Before a claim: release this workspace's shared claims that no local batch in flight holds
        (a claim killed between the shared commit and its input file). Returns how many."""
        mine = [r for r in self.rows().values() if r["workspace_id"] == self.wid and r["state"] == CLAIMED]
        held = self.s.progress.in_flight_items()
        orphans: dict[str, list[str]] = {}
        for r in mine:
            if r["key"] not in held:
                orphans.setdefault(r["claim_id"], []).append(r["key"])
        released = 0
        for cid, keys in orphans.items():
            released += self.claims.release(cid, keys)
            for k in keys:
                self.rows().pop(k, None)
        self.share_parks()
        return released

    def share_parks(self) -> None:
        """This workspace's parked images (failed max_attempts times, or skipped by a subagent) are
        parked in the shared table too, with their reason, so that no other workspace tries them
        again; a park forgiven here (requeue_parked.py) is lifted there. Not a park for a missing
        image file: another machine may have the file."""
        from ..state.progress import NO_BATCH, missing_file_park

        parked = {fp: f["reason"] for fp, f in self.s.progress.parked(self.s.cfg.max_attempts).items()
                  if not missing_file_park(f)}
        rows = self.rows()
        lifted = [k for k, r in rows.items()
                  if r["state"] == PARKED and r["workspace_id"] == self.wid and k not in parked]
        if lifted:
            self.claims.release_parked(lifted)
            for k in lifted:
                rows.pop(k, None)
        todo = [fp for fp in parked if rows.get(fp) is None or self._available(rows[fp], _ms(self.s.now))]
        if not todo:
            return
        by_claim: dict[str, dict[str, str]] = {}
        for k in self.win(todo, NO_BATCH, _ms(self.s.now) + 600_000):
            by_claim.setdefault(self.rows()[k]["claim_id"], {})[k] = parked[k]
        for cid, reasons in by_claim.items():
            self.claims.park(cid, reasons)
        self._refresh(todo)

    def skip(self) -> set[str]:
        """Images a pick passes over: done or parked anywhere, claimed elsewhere under a live lease."""
        now = _ms(self.s.now)
        return {k for k, r in self.rows().items() if _taken(r, self.wid, now, self.dead)}

    def pick(self, size: int, batch_id: int, lease_end) -> list[dict]:
        """A new batch's images: picked as the engine picks them, less those taken elsewhere, won in
        the shared table; what others won meanwhile is made up by picking again (TOP_UPS rounds)."""
        s = self.s
        taken = self.skip()
        s.skip |= taken
        won: list[dict] = []
        for _ in range(TOP_UPS):
            got = s._pick_present(size - len(won))
            if not got:
                break
            s.skip.update(img["filepath"] for img in got)
            keys = self.win([img["filepath"] for img in got], batch_id, _ms(lease_end))
            won += [img for img in got if img["filepath"] in keys]
            if len(won) >= size:
                break
        self.skipped = len(taken)
        return won

    def win(self, keys: list[str], batch_id: int, lease_end_ms: int) -> set[str]:
        """Claim the free keys and take over the expired ones; returns those this workspace now holds."""
        now = _ms(self.s.now)
        rows = self.rows()
        free = [k for k in keys if rows.get(k) is None]
        expired = {k: rows[k]["claim_id"] for k in keys if k in rows and self._available(rows[k], now)}
        batch_of = {k: batch_id for k in keys}
        won: set[str] = set()
        if free:
            won.update(self.claims.claim(free, lease_end_ms, batch_of)[1])
        ended = {k: cid for k, cid in expired.items() if rows[k]["lease_expires_ms"] < now}
        if ended:
            won.update(self.claims.take_over(ended, lease_end_ms, now, batch_of)[1])
        gone = {k: cid for k, cid in expired.items() if k not in ended}  # of a workspace confirmed gone
        if gone:
            won.update(self.claims.take_over(gone, lease_end_ms, now, batch_of, dead=True)[1])
        self._refresh(keys)
        return won

    def renew(self, batch: dict) -> None:
        """A batch offered again (expired lease, take-over): its shared claims get the new lease; an
        image whose claim went meanwhile is claimed again if free. One taken by another workspace
        stays in the batch: its collection returns it (settle)."""
        keys = [img["filepath"] for img in batch["images"]]
        lease_ms = _ms(parse_time(batch["lease_expires_at"]))
        rows = self._refresh(keys)
        by_claim: dict[str, list[str]] = {}
        for k in keys:
            r = rows.get(k)
            if r is not None and r["workspace_id"] == self.wid and r["state"] == CLAIMED:
                by_claim.setdefault(r["claim_id"], []).append(k)
        for cid, ks in by_claim.items():
            self.claims.renew(cid, ks, lease_ms)
        rest = [k for k in keys if not any(k in ks for ks in by_claim.values())]
        if rest:
            self.win(rest, batch["batch_id"], lease_ms)

    def settle(self, batch: dict, verdicts: list[dict], records: list[dict]) -> tuple[list[dict], list[dict]]:
        """At collection, before the result file: accepted images are marked done in the shared table
        (an image this workspace no longer holds, taken over after its lease ended, is returned
        instead: the other workspace critiques it); returned and skipped ones are released for any
        workspace. A crash after this and before the result file: the next collection finds the
        images done by this workspace and accepts them again."""
        keys = [img["filepath"] for img in batch["images"]]
        rows = self._refresh(keys)
        accepted = [v["filepath"] for v in verdicts if v["verdict"] == "accepted"]
        done, to_mark, lost = set(), {}, {}
        for k in accepted:
            r = rows.get(k)
            if r is not None and r["workspace_id"] == self.wid and r["state"] == DONE:
                done.add(k)
            elif r is not None and r["workspace_id"] == self.wid and r["state"] == CLAIMED:
                to_mark.setdefault(r["claim_id"], []).append(k)
            elif r is None:  # released meanwhile (a hand edit, a reset table): win it back first
                if self.win([k], batch["batch_id"], _ms(self.s.now) + 600_000):
                    to_mark.setdefault(self.rows()[k]["claim_id"], []).append(k)
                else:
                    lost[k] = self.rows().get(k)
            else:
                lost[k] = r
        for cid, ks in to_mark.items():
            marked = set(self.claims.mark_done(cid, ks))
            done |= marked
            for k in set(ks) - marked:
                lost[k] = self._refresh([k]).get(k)
        returned: dict[str, list[str]] = {}
        for v in verdicts:
            r = rows.get(v["filepath"])
            if v["verdict"] != "accepted" and r is not None and r["workspace_id"] == self.wid and r["state"] == CLAIMED:
                returned.setdefault(r["claim_id"], []).append(v["filepath"])
        for cid, ks in returned.items():
            self.claims.release(cid, ks)
        if not lost:
            return verdicts, records
        out = []
        for v in verdicts:
            if v["filepath"] in lost and v["filepath"] not in done:
                r = lost[v["filepath"]]
                who = f"workspace {r['workspace_id'][:12]}" if r else "another workspace"
                v = {"filepath": v["filepath"], "verdict": "rejected",
                     "reason": f"shared claims: {who} holds this image now (this claim's lease had ended); "
                               "not accepted twice"}
            out.append(v)
        return out, [rec for rec in records if rec["filepath"] not in lost or rec["filepath"] in done]


def summaries(ws, cultures: list[str]) -> dict[str, dict]:
    """The shared expansion of each culture (Claims.summary), or {} when claims are not shared (no lancedb imported)."""
    if not configured(ws) or not cultures:
        return {}
    wid = workspace_id(ws)
    return {c: Claims(ws, c, wid).summary() for c in cultures}


def taken_elsewhere(ws, culture: str, pending: list[str]) -> int:
    """How many of this workspace's pending images no claim here can take: done or parked in the
    shared table, or claimed by another workspace under a live lease (run_unattended.py counts them
    out, so that a runner stops when the shared expansion has no work left for it)."""
    if not configured(ws) or not pending:
        return 0
    claims = Claims(ws, culture, workspace_id(ws))
    at, wanted = now_ms(), set(pending)
    return sum(1 for r in claims.rows() if r["key"] in wanted and _taken(r, claims.workspace_id, at))


def render_summary(culture: str, s: dict) -> str:
    """One culture's shared expansion in a line or two (batch_status.py)."""
    from datetime import datetime, timezone

    line = (f"{culture} shared with other workspaces ({s['uri']}): {s['done_here']} done here, "
            f"{s['done_elsewhere']} done elsewhere, "
            f"{s['claimed_here']} claimed here, {s['claimed_elsewhere']} claimed elsewhere"
            + (f", {s['parked']} parked" if s["parked"] else "")
            + (f", {s['expired']} with an ended lease" if s["expired"] else ""))
    for wid, w in sorted(s["elsewhere"].items()):
        end = iso(datetime.fromtimestamp(w["lease_expires_ms"] / 1000, timezone.utc))
        line += f"\n  workspace {wid[:12]}: {w['claimed']} claimed, lease until {end}"
    return line
