"""A stand-in for the claude binary in the fast tests of run_unattended.py (no model, no Claude
Code): it does what a round's orchestrator does, with the workspace's scripts. It claims with the
session id it was given (with --take-over, and --yes when the prompt says so), starts "subagents"
for its claims (writes their output files), collects and prints a result as `claude -p --output-format
json` does. FAKE_CLAUDE_MODE: good (valid records), invalid (records that fail validation), fail
(an API error, exit 1), hang (writes the first batch's output, then waits to be stopped),
disk_full (valid records, then no collection and checkpoints/.tmp made a plain file, so the
runner's own collection cannot write).
FAKE_CLAUDE_RECORD: a folder that gets each call's arguments. Only the tests use this."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import support  # noqa: E402


def script(*args: str) -> dict:
    proc = subprocess.run([sys.executable, str(support.SCRIPTS / args[0]), *args[1:], "--json"], capture_output=True, text=True)
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def main(argv: list[str]) -> int:
    if argv[:1] == ["--version"]:
        print("2.1.332 (Claude Code)")
        return 0
    prompt, session = argv[argv.index("-p") + 1], argv[argv.index("--session-id") + 1]
    mode = os.environ.get("FAKE_CLAUDE_MODE", "good")
    record = os.environ.get("FAKE_CLAUDE_RECORD")
    if record:
        Path(record, f"{time.monotonic_ns()}.json").write_text(json.dumps({"argv": argv, "cwd": os.getcwd()}))
    if mode == "fail":
        print(json.dumps({"type": "result", "is_error": True, "result": "API Error: 401 invalid x-api-key"}))
        return 1
    m = re.match(r"continue the (\w+) expansion, (\d+) batch", prompt)
    culture, wanted = (m.group(1).lower(), int(m.group(2))) if m else (None, int(re.search(r"(\d+) batch", prompt).group(1)))
    take_over = ["--take-over", "--yes"] if "`--take-over --yes`" in prompt else ["--take-over"]  # the skill's session start
    claim = script("run_next_batch.py", "--session", session, *take_over, "--count", str(wanted), *(["--culture", culture] if culture else []))
    batches = [(b["culture"], b["batch_id"]) for b in claim.get("batches", [])]
    ws = Path.cwd()
    for i, (c, bid) in enumerate(batches):
        if mode == "hang" and i == 1:
            Path(os.environ["FAKE_CLAUDE_READY"]).write_text(session)
            time.sleep(600)
        kind = "short_zh" if mode == "invalid" else None
        records = [support.bad_record(c, fp, kind) if kind else support.good_record(c, fp) for fp in support.batch_items(ws, c, bid)]
        support.write_output(ws, c, bid, records)
    if mode == "disk_full":
        (ws / "checkpoints" / ".tmp").rmdir()  # empty between writes
        (ws / "checkpoints" / ".tmp").write_text("")
    else:
        script("run_next_batch.py", "--count", "0")
    print(json.dumps({"type": "result", "is_error": False, "result": f"{len(batches)} batches", "total_cost_usd": 0.01}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
