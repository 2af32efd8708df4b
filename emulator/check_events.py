"""Match events against a rule's pattern and apply its input transformer, with moto's code.

The render-level tests use this so that what decides "this event alerts" and "this is
the message" is EventBridge's emulation in moto (with this project's array fix, see
wm_emulator/events.py), not the project's own code. Reads JSON from stdin:
{"pattern": {...}, "transformer": {"InputPathsMap": {...}, "InputTemplate": "..."}, "events": [...]}
and writes [{"matches": bool, "message": <transformed input or null>}, ...].
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import wm_emulator
from moto.events.models import EventPattern
from moto.events.utils import EventTemplateParser

if __name__ == "__main__":
    wm_emulator.install()
    job = json.load(sys.stdin)
    pattern = EventPattern.load(json.dumps(job["pattern"]))
    out = []
    for event in job["events"]:
        matches = pattern.matches_event(event)
        message = None
        if matches and job.get("transformer"):
            t = job["transformer"]
            event.setdefault("ingestion-time", event["time"])  # what moto's PutEvents adds
            message = EventTemplateParser.parse(input_template=t["InputTemplate"],
                                                input_paths_map=t.get("InputPathsMap", {}), event=event)
        out.append({"matches": matches, "message": message})
    json.dump(out, sys.stdout)
