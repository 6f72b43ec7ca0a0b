#!/usr/bin/env python3
"""The seed's batch preparation, run as the seed runs it: its run_batch_workflow.py (the seed's
batch-orchestrator SKILL.md) with the culture as an argument instead of "western" in the code.

  cd WORKSPACE && python benchmarks/seed_prepare.py korean

It loads the progress file (ours keeps the seed's keys), prints it, collects the filepaths of every
completed batch's output file (get_pending_images), and writes the next batch's input file
(prepare_next_batch). benchmarks/run.py times it beside batch_status.py and run_next_batch.py.
The functions are the seed's, unchanged but for the culture in the file names.
"""

import json
import sys
from datetime import datetime  # noqa: F401 - the seed's script imports it (save_progress uses it)
from pathlib import Path

CULTURE = sys.argv[1] if len(sys.argv) > 1 else "western"
CHECKPOINT_DIR = Path('checkpoints')
PROGRESS_FILE = CHECKPOINT_DIR / f'{CULTURE}_expansion_progress.json'
CANDIDATES_FILE = CHECKPOINT_DIR / f'{CULTURE}_expansion_candidates.json'


def load_progress():
    if PROGRESS_FILE.exists():
        with open(PROGRESS_FILE) as f:
            return json.load(f)
    return {'total': 3704, 'completed': 0, 'next_batch': 1, 'last_updated': None,
            'completed_batches': [], 'failed_batches': [], 'merged_batches': []}


def get_pending_images(progress):
    with open(CANDIDATES_FILE) as f:
        data = json.load(f)
    completed_paths = set()
    for batch_id in progress['completed_batches']:
        output_file = CHECKPOINT_DIR / f'{CULTURE}_batch_{batch_id:03d}_output.json'
        if output_file.exists():
            with open(output_file) as f:
                for item in json.load(f):
                    completed_paths.add(item['filepath'])
    return [img for img in data['images'] if img['filepath'] not in completed_paths]


def prepare_next_batch(progress, size=10):
    pending = get_pending_images(progress)
    if not pending:
        return None
    batch_id = progress['next_batch']
    batch = pending[:size]
    input_file = CHECKPOINT_DIR / f'{CULTURE}_batch_{batch_id:03d}_input.json'
    with open(input_file, 'w') as f:
        json.dump(batch, f, indent=2, ensure_ascii=False)
    return batch_id, batch


def run_single_batch(progress):
    result = prepare_next_batch(progress)
    if not result:
        print("No more images to process!")
        return False
    batch_id, batch = result
    print(f"\n=== Processing Batch {batch_id:03d} ({len(batch)} images) ===")
    print(f"Input file: checkpoints/{CULTURE}_batch_{batch_id:03d}_input.json")
    print(f"Please run: Task({CULTURE}-image-critique-agent, ...)")
    return batch_id


if __name__ == '__main__':
    progress = load_progress()
    print(f"Current progress: {progress['completed']}/{progress['total']}")
    run_single_batch(progress)
