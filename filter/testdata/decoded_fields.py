"""Reads JSON events, one a line, from stdin and writes, one a line, what
Python's json module reads from each: a later duplicate key replaces an
earlier one, and keys match exactly. Used by filter/decoders_test.go."""

import json
import sys

for line in sys.stdin:
    event = json.loads(line)
    annotations = event.get("annotations")
    print(json.dumps({
        "level": event.get("level"),
        "stage": event.get("stage"),
        "requestObject": event.get("requestObject") is not None,
        "responseObject": event.get("responseObject") is not None,
        "annotations": sorted(annotations) if isinstance(annotations, dict) else [],
    }))
