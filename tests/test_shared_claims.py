"""Claims shared through one Lance table by workspaces on different machines (shared_claims.py):
processes (spawned: lancedb is not fork-safe) racing on one table in a folder and on S3 (moto on
loopback) win each key once; the same race without the key metadata commits duplicates (so the
check can fail); take-over and renewal races have at most one winner; a claimer killed at a fault
point leaves no duplicate and nothing its workspace cannot find again."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

import store_support as sup
from critique_batch.store import shared_claims as sc
from critique_batch.base.errors import EnvironmentFailure, InputError
from critique_batch.files.workspace import Workspace

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
WORKER = Path(__file__).resolve().parent / "claims_worker.py"


REAL_S3 = "CRITIQUE_BATCH_TEST_REAL_S3"  # e.g. s3://my-bucket/claims-tests: the races also run there (AWS_* credentials)


@pytest.fixture(params=["local", "s3", "real-s3"])
def claims_uri(request, tmp_path, monkeypatch):
    """(a claims URI outside every workspace, env for the worker processes). real-s3 runs only with
    $CRITIQUE_BATCH_TEST_REAL_S3 set: moto cannot prove that S3's conditional writes are atomic."""
    if request.param == "local":
        return str(tmp_path / "claims-db"), {}
    if request.param == "real-s3":
        base = os.environ.get(REAL_S3)
        if not base:
            pytest.skip(f"set ${REAL_S3} to an s3:// prefix (and AWS_* credentials) to run against real S3")
        return f"{base.rstrip('/')}/{hashlib.sha1(str(tmp_path).encode()).hexdigest()[:16]}", {}
    server = request.getfixturevalue("s3")
    for k, v in server.env.items():
        monkeypatch.setenv(k, v)
    return server.bucket("c" + hashlib.sha1(str(tmp_path).encode()).hexdigest()[:20]), server.env


def workers(tmp_path: Path, uri: str, env: dict, specs: list[dict], *, faults: dict[int, str] | None = None) -> list[dict | None]:
    """Run one worker process per spec, released together once every one has its table open.
    faults: {index: $CRITIQUE_BATCH_FAULT} for the workers to kill at a point. Returns each
    worker's output (None for a killed one)."""
    go = tmp_path / f"go-{time.monotonic_ns()}"
    procs = []
    for i, spec in enumerate(specs):
        ready = tmp_path / f"ready-{go.name}-{i}"
        full = {**os.environ, **env}
        full.pop("CRITIQUE_BATCH_FAULT", None)
        if faults and i in faults:
            full["CRITIQUE_BATCH_FAULT"] = faults[i]
            full["CRITIQUE_BATCH_FAULT_LOG"] = str(tmp_path / "faults.log")
        args = {"uri": uri, "workspace": str(tmp_path), "ready": str(ready), "go": str(go), "seed": i, **spec}
        procs.append((ready, subprocess.Popen([sys.executable, str(WORKER), json.dumps(args)], stdout=subprocess.PIPE,
                                              stderr=subprocess.PIPE, text=True, env=full)))
    deadline = time.monotonic() + 60
    while not all(r.exists() or p.poll() is not None for r, p in procs) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.write_text("go")
    outs = []
    for i, (_, p) in enumerate(procs):
        out, err = p.communicate(timeout=120)
        if faults and i in faults:
            assert p.returncode == -9, f"worker {i} was not killed: {p.returncode}\n{err}"
            outs.append(None)
            continue
        assert p.returncode == 0 and "Traceback" not in err, f"worker {i}: exit {p.returncode}\n{err}"
        outs.append(json.loads(out))
    return outs


def claims_of(tmp_path: Path, uri: str, workspace_id: str = "test", **kw) -> sc.Claims:
    return sc.Claims(Workspace(tmp_path), "korean", workspace_id, {"uri": uri}, **kw)


def duplicates(rows: list[dict]) -> dict[str, int]:
    """Keys with more than one row: what the primary key must prevent."""
    return {k: n for k, n in Counter(r["key"] for r in rows).items() if n > 1}


def keys(n: int, tag: str = "") -> list[str]:
    return [f"images/korean/{tag}painting_{i:04d}.jpg" for i in range(n)]


def test_race_each_key_won_once(tmp_path, claims_uri):
    """Workspaces claiming overlapping chunks of the same keys in different orders: one row per
    key, every key won by exactly one workspace, and what each was told it won is what the table says."""
    uri, env = claims_uri
    n, procs = (40, 4) if not env else (24, 3)
    all_keys = keys(n)
    outs = workers(tmp_path, uri, env, [{"workspace_id": f"w{i}", "keys": all_keys, "chunk": 8 if not env else 12}
                                        for i in range(procs)])
    rows = claims_of(tmp_path, uri).rows()
    assert duplicates(rows) == {}
    assert sorted(r["key"] for r in rows) == sorted(all_keys)
    won = Counter(k for o in outs for k in o["won"])
    assert set(won) == set(all_keys) and set(won.values()) == {1}
    by_row = {r["key"]: r["workspace_id"] for r in rows}
    for i, o in enumerate(outs):
        assert all(by_row[k] == f"w{i}" for k in o["won"])


def test_race_without_the_key_metadata_commits_duplicates(tmp_path):
    """The same race on a table whose key lacks the metadata: the check above finds duplicates
    (so it can fail), and the module refuses to claim in such a table."""
    uri = str(tmp_path / "claims-db")
    claims_of(tmp_path, uri, require_key=False).table  # noqa: B018 - created without the metadata
    found: dict[str, int] = {}
    for attempt in range(5):  # a race can come out clean by chance: repeat with new keys until it does not
        ks = keys(40, f"r{attempt}-")
        workers(tmp_path, uri, {}, [{"workspace_id": f"w{i}", "keys": ks, "mode": "claim_all", "with_key": False} for i in range(4)])
        found = duplicates(claims_of(tmp_path, uri, require_key=False).rows(ks))
        if found:
            break
    assert found, "4 racing claims without the key metadata never committed a duplicate"
    with pytest.raises(InputError) as err:
        claims_of(tmp_path, uri).table  # noqa: B018
    assert err.value.exit_code == 2 and sc.PK_METADATA in str(err.value)


def test_too_old_lancedb_is_refused(tmp_path, monkeypatch):
    import lancedb

    monkeypatch.setattr(lancedb, "__version__", "0.30.1")
    with pytest.raises(EnvironmentFailure) as err:
        claims_of(tmp_path, str(tmp_path / "claims-db")).table  # noqa: B018
    assert err.value.exit_code == 74 and "lancedb >= 0.40" in str(err.value)
    assert not (tmp_path / "claims-db").exists()  # nothing created


def test_take_over_races_a_renewal(tmp_path, claims_uri):
    """An expired claim: its owner renews it while two workspaces take it over. Per key, at most
    one succeeds, and the row carries the winner's claim id."""
    uri, env = claims_uri
    owner = claims_of(tmp_path, uri, "owner")
    ks = keys(6 if env else 12)
    now = sc.now_ms()
    cid, won = owner.claim(ks, now - 1)  # its lease already over
    assert won == ks
    seen = {k: cid for k in ks}
    specs = [{"workspace_id": f"t{i}", "mode": "take_over", "seen": seen, "now": now} for i in range(2)]
    specs.append({"workspace_id": "owner", "mode": "renew", "seen_claim": {cid: ks}})
    outs = workers(tmp_path, uri, env, specs)
    rows = {r["key"]: r for r in owner.rows()}
    assert duplicates(owner.rows()) == {}
    winners = Counter(k for o in outs for k in o["won"])
    assert set(winners) == set(ks) and set(winners.values()) == {1}  # each key: one winner
    for o in outs:
        (claim_id, won), = o["claims"]
        for k in won:
            assert rows[k]["claim_id"] == claim_id
    # the race is decided: a late take-over of what it saw finds each row renewed or carrying another claim id
    assert claims_of(tmp_path, uri, "late").take_over(seen, now + 600_000, now)[1] == []


def test_conditional_changes_need_the_claim_id(tmp_path):
    """done / park / renew / release act only on rows still carrying the claim id; a released
    image is free for any workspace; status sees each workspace's share."""
    uri = str(tmp_path / "claims-db")
    a, b = claims_of(tmp_path, uri, "A"), claims_of(tmp_path, uri, "B")
    now = sc.now_ms()
    ks = keys(6)
    cid_a, won_a = a.claim(ks[:4], now + 60_000)
    cid_b, won_b = b.claim(ks, now + 90_000)
    assert won_a == ks[:4] and won_b == ks[4:]
    assert a.mark_done("no-such-claim", ks) == []
    assert a.mark_done(cid_b, ks[:2]) == []  # not b's keys
    assert a.mark_done(cid_a, ks[:2]) == ks[:2]
    assert a.renew(cid_a, ks[2:4], now + 120_000) == ks[2:4]
    assert a.park(cid_a, {ks[2]: "image unreadable"}) == [ks[2]]
    assert a.release(cid_b, [ks[3]]) == 0  # another claim's id: nothing released
    assert a.release(cid_a, [ks[3]]) == 1
    cid_b2, won = b.claim(ks, now + 90_000)
    assert won == [ks[3]]  # free for any workspace
    s = a.summary(now)
    assert (s["done_here"], s["parked"], s["claimed_elsewhere"]) == (2, 1, 3)
    assert s["elsewhere"] == {"B": {"claimed": 3, "lease_expires_ms": now + 90_000}}
    assert a.mark_done(cid_a, [ks[0]]) == []  # already done: no second change


def test_killed_claimers_leave_no_duplicate_and_nothing_lost(tmp_path, claims_uri):
    """Three workspaces race; one is killed before its commit, one right after it (before it
    learns what it won). No duplicate; the killed-before claimer left nothing; the killed-after
    one's workspace finds its claims by workspace id and releases them; the table keeps working."""
    uri, env = claims_uri
    ks = keys(24 if env else 40)
    # w1 alone on its keys: its commit surely inserts them all (w2 races w0)
    specs = [{"workspace_id": "w0", "keys": ks[:16], "chunk": 8}, {"workspace_id": "w1", "keys": ks[16:24], "chunk": 8},
             {"workspace_id": "w2", "keys": ks[:16] + ks[24:], "chunk": 8}]
    outs = workers(tmp_path, uri, env, specs, faults={0: "shared.claiming", 1: "shared.claimed"})
    log = (tmp_path / "faults.log").read_text().split()
    assert sorted(log) == ["shared.claimed", "shared.claiming"]
    c = claims_of(tmp_path, uri)
    rows = c.rows()
    assert duplicates(rows) == {}
    by_ws = Counter(r["workspace_id"] for r in rows)
    assert by_ws["w0"] == 0  # killed before its commit: nothing committed
    assert by_ws["w1"] == 8  # killed after it, before learning what it won
    assert sorted(outs[2]["won"]) == sorted(r["key"] for r in rows if r["workspace_id"] == "w2")
    # the killed workspaces' next session: its own claims, by workspace id, released for everyone
    for wid in ("w0", "w1"):
        mine = claims_of(tmp_path, uri, wid)
        left = mine.of_workspace()
        for cid in {r["claim_id"] for r in left}:
            mine.release(cid, [r["key"] for r in left if r["claim_id"] == cid])
        assert mine.of_workspace() == []
    after = workers(tmp_path, uri, env, [{"workspace_id": "w3", "keys": ks, "chunk": 24}])
    rows = c.rows()
    assert duplicates(rows) == {} and sorted(r["key"] for r in rows) == sorted(ks)
    assert set(after[0]["won"]) == set(ks) - set(outs[2]["won"])


@pytest.mark.filterwarnings("ignore:optimize.cleanup_older_than=0")
def test_housekeeping_compacts_as_the_table_grows(tmp_path, monkeypatch):
    monkeypatch.setenv("CRITIQUE_BATCH_CLAIMS_OPTIMIZE_EVERY", "10")
    monkeypatch.setenv("CRITIQUE_BATCH_CLAIMS_KEEP_VERSIONS_S", "0")
    c = claims_of(tmp_path, str(tmp_path / "claims-db"))
    ks = keys(60)
    lease = sc.now_ms() + 60_000
    for i in range(0, 60, 2):
        c.claim(ks[i:i + 2], lease)
    assert c.housekept >= 2
    assert c.table.stats()["fragment_stats"]["num_fragments"] <= 12  # 30 one-commit fragments, compacted every 10 versions
    assert len(c.table.list_versions()) <= 12  # old versions removed
    assert sorted(r["key"] for r in c.rows()) == ks


def test_configuration_and_lean_import(tmp_path, monkeypatch):
    """Off by default; the plan's "claims" or $CRITIQUE_BATCH_CLAIMS turn it on; importing the
    module (as a claim does) imports no lancedb, pyarrow or dataclasses."""
    root = sup.make_ws(tmp_path / "ws", {"korean": 2})
    monkeypatch.delenv(sc.ENV, raising=False)
    assert sc.configured(Workspace(root)) is None
    monkeypatch.setenv(sc.ENV, str(tmp_path / "c"))
    assert sc.configured(Workspace(root))["uri"] == str(tmp_path / "c")
    monkeypatch.delenv(sc.ENV)
    plan = json.loads((root / "checkpoints" / "expansion_plan.json").read_text())
    plan["claims"] = {"uri": "s3://bucket/claims", "storage_options": {"allow_http": True}}
    (root / "checkpoints" / "expansion_plan.json").write_text(json.dumps(plan))
    conf = sc.configured(Workspace(root))
    assert conf["uri"] == "s3://bucket/claims"
    assert sc.Claims(Workspace(root), "korean", "w", conf).target.storage_options == {"allow_http": "true"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "import critique_batch.store.shared_claims"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(sup.SCRIPTS)})
    imported = {line.split("|")[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "critique_batch" in imported and not imported & {"lancedb", "pyarrow", "dataclasses", "typing"}, sorted(imported)


# --- the loop: workspaces running the real scripts on one shared expansion -----------------------

def loop_round(root: Path, env: dict, *, count: int = 2, extra: dict | None = None) -> list[int]:
    """One round of a workspace as the orchestrator runs it: run_next_batch.py (collect, claim), then
    a valid output for each batch claimed (a subagent's work). Returns the batch ids claimed."""
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", count, "--json", ws=root, env={**env, **(extra or {})})
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    got = json.loads(proc.stdout)["batches"]
    for b in got:
        doc = json.loads((root / "checkpoints" / f"korean_batch_{b['batch_id']:03d}_input.json").read_text())
        recs = [sup.record("korean", img["filepath"]) for img in doc["images"]]
        (root / "checkpoints" / f"korean_batch_{b['batch_id']:03d}_output.json").write_text(json.dumps(recs, ensure_ascii=False))
    return [b["batch_id"] for b in got]


def run_until_done(roots: list[Path], env: dict, rounds: int = 12) -> None:
    """Every workspace in its own thread, round after round, until none claims anything (then a last collection)."""
    from concurrent.futures import ThreadPoolExecutor

    def work(root: Path) -> None:
        for _ in range(rounds):
            if not loop_round(root, env):
                break
        sup.run("run_next_batch.py", "--culture", "korean", "--count", 0, ws=root, env=env)

    with ThreadPoolExecutor(len(roots)) as pool:
        list(pool.map(work, roots))


def accepted_once(roots: list[Path], n: int) -> dict[str, int]:
    """Every candidate accepted in exactly one workspace; returns accepted images per workspace."""
    where: dict[str, list[str]] = {}
    for root in roots:
        for fp in sup.accepted(root, "korean"):
            where.setdefault(fp, []).append(root.name)
    assert {fp: w for fp, w in where.items() if len(w) > 1} == {}
    assert sorted(where) == sorted(sup.image("korean", i)["filepath"] for i in range(n))
    return Counter(w[0] for w in where.values())


@pytest.fixture
def shared_env(tmp_path, claims_uri):
    uri, env = claims_uri
    return {**env, sc.ENV: uri}


def test_workspaces_share_one_expansion(tmp_path, shared_env):
    """Three workspaces (two on S3) with the same candidates run the real scripts at the same time: every image
    is accepted exactly once across them, and status shows the shared expansion."""
    s3 = "AWS_ENDPOINT_URL" in shared_env
    n = 8 if s3 else 16
    roots = [sup.make_ws(tmp_path / f"ws{i}", {"korean": n}, batch_size=4) for i in range(2 if s3 else 3)]
    run_until_done(roots, shared_env)
    per_ws = accepted_once(roots, n)  # (how the work split depends on timing: one may have taken it all)
    st = sup.run_json("batch_status.py", ws=roots[0], env=shared_env)["cultures"][0]["shared"]
    assert st["done_here"] == per_ws[roots[0].name] and st["done_here"] + st["done_elsewhere"] == n
    assert st["claimed_here"] == st["claimed_elsewhere"] == 0
    text = sup.run("batch_status.py", ws=roots[0], env=shared_env).stdout
    assert f"{st['done_elsewhere']} done elsewhere" in text
    # a runner on any of them stops: what is pending there was done elsewhere (not after two idle rounds)
    from critique_batch.agent import unattended
    from critique_batch.files.workspace import Workspace

    for root in roots:
        with pytest.MonkeyPatch.context() as mp:
            for k, v in shared_env.items():
                mp.setenv(k, v)
            rows = unattended.status_rows(Workspace(root))
        assert rows["korean"]["pending"] == 0 and rows["korean"]["priority"] is None, rows["korean"]
        assert unattended.goal_reached(unattended.Goal("korean"), rows, None) == "korean: no work left"
        assert unattended.goal_reached(unattended.Goal(None), rows, None).startswith("no work left")


def test_crash_between_shared_commit_and_input_file(tmp_path, monkeypatch):
    """A claim killed after winning images in the shared table, before writing its input file: the
    next claim of that workspace releases them (nothing lost); an expired claim of a workspace that
    went away is taken over by another; every image ends accepted exactly once."""
    env = {sc.ENV: str(tmp_path / "claims-db")}
    n = 16
    a, b, c = (sup.make_ws(tmp_path / name, {"korean": n}, batch_size=4) for name in ("a", "b", "c"))
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 2, ws=a,
                   env={**env, "CRITIQUE_BATCH_FAULT": "shared.claimed"})
    assert proc.returncode == -9
    assert not list((a / "checkpoints").glob("korean_batch_*_input.json"))
    orphans = claims_of(tmp_path, env[sc.ENV], "x").rows()
    a_wid = json.loads((a / "checkpoints" / "workspace_id.json").read_text())["workspace_id"]
    assert len(orphans) == 4 and {r["workspace_id"] for r in orphans} == {a_wid}
    # c claims a batch and goes away (no output, ever)
    assert loop_round(c, env, count=1, extra={}) == [1]
    (c / "checkpoints" / "korean_batch_001_output.json").unlink()
    c_wid = json.loads((c / "checkpoints" / "workspace_id.json").read_text())["workspace_id"]
    # two hours later (past c's 60-minute lease) a and b run until done
    later = {**env, "CRITIQUE_BATCH_NOW": "2099-01-01T00:00:00Z"}
    run_until_done([a, b], later)
    per_ws = accepted_once([a, b], n)
    assert sum(per_ws.values()) == n
    rows = claims_of(tmp_path, env[sc.ENV], "x").rows()
    assert len(rows) == n and {r["state"] for r in rows} == {"done"} and c_wid not in {r["workspace_id"] for r in rows}
    assert any(r["prev_claim_id"] for r in rows)  # c's images were taken over


def test_a_claim_refuses_a_claims_table_without_the_key_metadata(tmp_path):
    """The scripts say it in one line (exit 2) and write no input file: such a table could hand one
    image to two workspaces."""
    uri = str(tmp_path / "claims-db")
    claims_of(tmp_path, uri, require_key=False).table  # noqa: B018 - made without the metadata
    root = sup.make_ws(tmp_path / "ws", {"korean": 4})
    proc = sup.run("run_next_batch.py", "--culture", "korean", ws=root, env={sc.ENV: uri})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert sc.PK_METADATA in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not list((root / "checkpoints").glob("korean_batch_*_input.json"))


def test_crash_between_shared_done_and_result_file(tmp_path):
    """A collection killed after marking its images done in the shared table, before its result
    file: the next collection accepts them (done by this workspace); another workspace finds
    nothing left to claim and says why."""
    env = {sc.ENV: str(tmp_path / "claims-db")}
    a, b = (sup.make_ws(tmp_path / name, {"korean": 4}, batch_size=4) for name in ("a", "b"))
    assert loop_round(a, env, count=1) == [1]
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 0, ws=a, env={**env, "CRITIQUE_BATCH_FAULT": "shared.done"})
    assert proc.returncode == -9 and not (a / "checkpoints" / "korean_batch_001_result.json").exists()
    assert {r["state"] for r in claims_of(tmp_path, env[sc.ENV]).rows()} == {"done"}
    out = sup.run_json("run_next_batch.py", "--culture", "korean", "--count", 0, ws=a, env=env)
    assert [c["accepted"] for c in out["collected"]] == [4]
    assert len(sup.accepted(a, "korean")) == 4
    proc = sup.run("run_next_batch.py", "--culture", "korean", ws=b, env=env)
    assert proc.returncode == 1 and "4 images claimed or done by other workspaces" in proc.stdout, proc.stdout


def test_a_park_is_shared_and_a_requeue_lifts_it(tmp_path):
    """An image a workspace parks (here: skipped by its subagent) is parked in the shared table at the
    next claim, so another workspace never tries it; requeue_parked.py there lifts the shared park
    too (at the next claim), and the image can be claimed anywhere again."""
    env = {sc.ENV: str(tmp_path / "claims-db")}
    a, b = (sup.make_ws(tmp_path / name, {"korean": 4}, batch_size=4) for name in ("a", "b"))
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 1, "--json", ws=a, env=env)
    assert len(json.loads(proc.stdout)["batches"]) == 1, proc.stdout
    doc = json.loads((a / "checkpoints" / "korean_batch_001_input.json").read_text())
    skipped = doc["images"][0]["filepath"]
    recs = [{"filepath": skipped, "skipped": "not an artwork"}] + [sup.record("korean", img["filepath"]) for img in doc["images"][1:]]
    (a / "checkpoints" / "korean_batch_001_output.json").write_text(json.dumps(recs, ensure_ascii=False))
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 1, ws=a, env=env)  # collect, park, claim nothing
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    [row] = [r for r in claims_of(tmp_path, env[sc.ENV]).rows() if r["key"] == skipped]
    assert row["state"] == "parked" and "not an artwork" in row["reason"]
    # b holds the same candidates: three are done in a, the fourth is parked there: nothing to claim
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 1, "--json", ws=b, env=env)
    assert json.loads(proc.stdout)["batches"] == [], proc.stdout
    # a forgives it: the next claim (anywhere) may take it; here a claims it again itself
    assert sup.run("requeue_parked.py", "korean", ws=a, env=env).returncode == 0
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 1, "--json", ws=a, env=env)
    [again] = json.loads(proc.stdout)["batches"]
    doc = json.loads((a / "checkpoints" / f"korean_batch_{again['batch_id']:03d}_input.json").read_text())
    assert [img["filepath"] for img in doc["images"]] == [skipped]
    [row] = [r for r in claims_of(tmp_path, env[sc.ENV]).rows() if r["key"] == skipped]
    assert row["state"] == "claimed"


def test_a_workspace_confirmed_gone_is_taken_over_at_once(tmp_path):
    """--take-over-workspace: the claims of a workspace the user says is gone are taken over before
    their lease ends; if it was not gone after all, its late output is not accepted twice."""
    env = {sc.ENV: str(tmp_path / "claims-db")}
    a, b = (sup.make_ws(tmp_path / name, {"korean": 4}, batch_size=4) for name in ("a", "b"))
    assert len(json.loads(sup.run("run_next_batch.py", "--culture", "korean", "--json", ws=a, env=env).stdout)["batches"]) == 1
    a_wid = json.loads((a / "checkpoints" / "workspace_id.json").read_text())["workspace_id"]
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--json", ws=b, env=env)
    assert json.loads(proc.stdout)["batches"] == []  # a's lease is live
    b_wid = json.loads((b / "checkpoints" / "workspace_id.json").read_text())["workspace_id"]
    for wrong, why in ((a_wid[:3] + "zz", "names no workspace"), (b_wid[:12], "is this workspace")):
        proc = sup.run("run_next_batch.py", "--culture", "korean", "--take-over-workspace", wrong, ws=b, env=env)
        assert proc.returncode == 2 and why in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--take-over-workspace", a_wid[:12], ws=b, env={})
    assert proc.returncode == 2 and "claims are not shared" in proc.stderr, proc.stderr
    proc = sup.run("run_next_batch.py", "--take-over-workspace", a_wid[:12], ws=b, env=env)  # by priority
    assert proc.returncode == 2 and "expected a culture" in proc.stderr, proc.stderr
    proc = sup.run("run_next_batch.py", "--culture", "korean", "--take-over-workspace", a_wid[:12], "--json", ws=b, env=env)
    [got] = json.loads(proc.stdout)["batches"]
    assert got["images"] == 4
    for root in (a, b):  # both write their outputs (a was not gone after all), then collect
        doc = json.loads((root / "checkpoints" / "korean_batch_001_input.json").read_text())
        recs = [sup.record("korean", img["filepath"]) for img in doc["images"]]
        (root / "checkpoints" / "korean_batch_001_output.json").write_text(json.dumps(recs, ensure_ascii=False))
        proc = sup.run("run_next_batch.py", "--culture", "korean", "--count", 0, ws=root, env=env)
        assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert accepted_once([a, b], 4) == {"b": 4}
