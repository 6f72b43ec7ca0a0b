"""Fixtures for the LanceDB store tests: a small workspace with its own plan (low quality bars so
records stay small), batches driven through the real engine (claim -> output file -> collect),
a runner for the scripts, and an S3 server on loopback (moto)."""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

from critique_batch.state.session import run_session  # noqa: E402
from critique_batch.files.workspace import Workspace  # noqa: E402

PREFIX = {"korean": "KR", "chinese": "CN", "western": "WE"}
ZH_PHRASES = [
    "山水画以水墨淋漓的笔法描绘江南烟雨", "人物衣纹流畅展现唐代仕女画的风格", "留白营造出空灵的意境",
    "青绿设色与远山水墨形成鲜明对比", "竹石清劲体现文人画的高洁品格", "佛教绘画以对称构图表现庄严净土",
    "风俗画描绘平民百姓的日常生活", "花鸟画以没骨法写就生动传神", "界画技法绘制宫殿线条挺拔工整",
]
EN_WORDS = ("ink wash landscape brushwork composition court painter literati mountain river bamboo "
            "pigment silk scroll symmetry temple guardian genre scene portrait texture").split()


def plan_doc(cultures, *, threshold: int = 100, batch_size: int = 5) -> dict:
    dims = lambda p: [{"id": f"{p}_L{layer}_D{d}", "zh": f"维度{layer}{d}", "en": f"dimension {layer}.{d}"}  # noqa: E731
                      for layer in range(1, 4) for d in range(1, 3)]
    return {
        "version": 1,
        "defaults": {"batch_size": batch_size, "max_parallel": 64, "sync_threshold": threshold,
                     "quality": {"min_zh_chars": 5, "min_zh_cjk_ratio": 0.5, "min_en_words": 3, "min_dimensions": 1}},
        "layers": {f"L{i}": {"zh": f"层{i}", "en": f"layer {i}"} for i in range(1, 6)},
        "cultures": {
            c: {"prefix": PREFIX[c], "current": 0, "target": 10_000, "generator": f"{c}-critique-agent", "dimensions": dims(PREFIX[c])}
            for c in cultures
        },
    }


def make_ws(root: Path, cultures: dict[str, int], *, threshold: int = 100, batch_size: int = 5) -> Path:
    """A workspace with its own plan and a candidates file per culture (n images each)."""
    cp = root / "checkpoints"
    cp.mkdir(parents=True, exist_ok=True)
    (cp / "expansion_plan.json").write_text(json.dumps(plan_doc(cultures, threshold=threshold, batch_size=batch_size)), encoding="utf-8")
    for c, n in cultures.items():
        write_candidates(root, c, n)
    return root


def image(culture: str, i: int) -> dict:
    img = {"filepath": f"images/{culture}/painting_{i:05d}.jpg", "artist": f"{culture.title()} Artist {i % 5}", "title": f"Work {i}"}
    if i % 2 == 0:
        img.update(art_form="painting", medium="ink on silk", dynasty=f"period {i % 3}")
    return img


def write_candidates(root: Path, culture: str, n: int) -> None:
    doc = {"culture": culture, "images": [image(culture, i) for i in range(n)]}
    (root / "checkpoints" / f"{culture}_expansion_candidates.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    from support import touch_images

    touch_images(root, doc["images"])


def record(culture: str, filepath: str, version: int = 0) -> dict:
    rng = random.Random(f"{filepath}:{version}")
    p = PREFIX[culture]
    zh = "".join(rng.sample(ZH_PHRASES, 3)) + f"第{version}稿"
    en = " ".join(rng.choice(EN_WORDS) for _ in range(12)) + f" draft{version}"
    dims = sorted(rng.sample([f"{p}_L{layer}_D{d}" for layer in range(1, 4) for d in range(1, 3)], 3))
    return {"filepath": filepath, "critique_zh": zh, "critique_en": en, "covered_dimensions": dims,
            "quality_score": 60 + rng.randint(0, 39), "generator_model": "test-double"}


def produce(root: Path, culture: str, batches: int, *, size: int | None = None, version: int = 0, skip_every: int = 0) -> list[int]:
    """Claim, answer (valid records; every skip_every-th image skipped) and collect `batches` batches."""
    ws = Workspace(root)
    done: list[int] = []
    while len(done) < batches:
        claimed = run_session(ws, culture, lambda s: s.claim(min(batches - len(done), 64), size))
        if not claimed:
            break
        for b in claimed:
            doc = json.loads((root / "checkpoints" / f"{culture}_batch_{b['batch_id']:03d}_input.json").read_text(encoding="utf-8"))
            recs = []
            for k, img in enumerate(doc["images"]):
                if skip_every and k % skip_every == skip_every - 1:
                    recs.append({"filepath": img["filepath"], "skipped": "image unreadable"})
                else:
                    recs.append(record(culture, img["filepath"], version))
            out = root / "checkpoints" / f"{culture}_batch_{b['batch_id']:03d}_output.json"
            out.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
            done.append(b["batch_id"])
        run_session(ws, culture, lambda s: s.collect())
    return done


def progress(root: Path, culture: str) -> dict:
    return json.loads((root / "checkpoints" / f"{culture}_expansion_progress.json").read_text(encoding="utf-8"))


def accepted(root: Path, culture: str) -> dict[str, dict]:
    """filepath -> the newest accepted record over every result file."""
    out: dict[str, dict] = {}
    for path in sorted((root / "checkpoints").glob(f"{culture}_batch_*_result.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        for r in doc["records"]:
            old = out.get(r["filepath"])
            if old is None or (r["accepted_at"], r["batch_id"]) > (old["accepted_at"], old["batch_id"]):
                out[r["filepath"]] = r
    return out


def batch_ids_with_records(root: Path, culture: str) -> set[int]:
    p = progress(root, culture)
    return {int(b) for b, n in p["batch_accepted"].items() if n > 0 and int(b) in p["completed_batches"]}


def table_rows(uri: str, env: dict | None = None) -> list[dict]:
    """Every row of the critiques table, read in this process (env: storage settings)."""
    import lancedb

    opts = storage_options_from(env) if env else None
    db = lancedb.connect(uri, storage_options=opts)
    return db.open_table("critiques").search().to_arrow().to_pylist()


def storage_options_from(env: dict) -> dict:
    return {"aws_endpoint": env["AWS_ENDPOINT_URL"], "allow_http": "true", "aws_region": env["AWS_REGION"],
            "aws_access_key_id": env["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"]}


def run(script: str, *args, ws: Path, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    cmd = [sys.executable, str(SCRIPTS / script), *map(str, args), "--workspace", str(ws)]
    full = dict(os.environ)
    full.pop("CRITIQUE_BATCH_DEBUG", None)
    full.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, env=full, timeout=timeout)


def run_json(script: str, *args, ws: Path, env: dict | None = None, expect: int = 0) -> dict:
    proc = run(script, *args, "--json", ws=ws, env=env)
    assert proc.returncode == expect, f"{script} {args}: exit {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


# --- S3 on loopback -----------------------------------------------------------------------------

def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class S3Server:
    """moto's S3 server on 127.0.0.1 (a thread of the test process)."""

    def __init__(self):
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self.server.start()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ALLOW_HTTP": "true", "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                    "AWS_EC2_METADATA_DISABLED": "true"}

    def bucket(self, name: str) -> str:
        req = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert resp.status == 200
        return f"s3://{name}/vulca"

    def stop(self) -> None:
        self.server.stop()
