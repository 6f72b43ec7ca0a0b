#!/usr/bin/env python3
"""Print the generator instructions for one culture, from this workspace's expansion plan.

  generator_instructions.py japanese                a culture added to the workspace's plan
  generator_instructions.py korean --batch 7        with the exact check command for batch 007

The instructions (perspective, every dimension ID with its Chinese and English name, language and
length rules, the record format with an example, the check-and-fix loop) are the ones the generator
skills carry, rendered from the workspace's own plan. run_next_batch.py points a subagent here when
no bundled instructions fit: a culture added by configuration, or a bundled culture whose rules
the workspace's plan changed.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from critique_batch import cli  # noqa: E402


def run(args) -> int:
    from critique_batch.agent.instructions import SCRIPTS_DIR, check_command, render_instructions
    from critique_batch.files.workspace import Workspace, parse_batch_id

    ws = Workspace(args.workspace)
    cfg = ws.culture(args.culture)
    check = None
    if args.batch is not None:
        check = check_command(ws, cfg.name, parse_batch_id(args.batch), "python", ws.display)
    text = render_instructions(ws.plan, cfg, "runtime", scripts=ws.display(SCRIPTS_DIR), check=check)
    if args.json:
        cli.emit_json({"culture": cfg.name, "generator": cfg.generator, "instructions": text})
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    p = cli.parser(__doc__.splitlines()[0], __doc__.split("\n", 2)[2])
    cli.add_culture(p, "a culture of the plan")
    p.add_argument("--batch", metavar="BATCH_ID", help="show the exact check command for this batch")
    cli.main(run, cli.take_culture(p, p.parse_args(), required=True))
