"""Accuracy on the shared bounce development set, measured the way its scorer measures it.

The set lives beside the repository (`<repo>/../shared/bounce-devset`); without it
the test skips. Only labels and messages are read; the comparison is re-implemented.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from mailroom.bounce.classifier import classify_message

DEVSET = Path(__file__).resolve().parents[3].parent / "shared" / "bounce-devset"
PSEUDO_STATUS = re.compile(r"^[245]\.0\.9\d\d$")
# Reason spellings the scorer treats as the same class.
SAME_REASON = {"ratelimited": "speeding", "emailtoolarge": "mesgtoobig"}


def _labels() -> list[dict[str, object]]:
    path = DEVSET / "labels.jsonl"
    if not path.is_file():
        pytest.skip(f"bounce dev set not found at {DEVSET}")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [row for row in rows if "_meta" not in row]


def test_devset_accuracy_targets() -> None:
    labels = _labels()
    predictions: dict[str, list[dict[str, object]]] = {}
    for name in sorted({str(row["file"]) for row in labels}):
        result = classify_message((DEVSET / name).read_bytes())
        predictions[name] = (
            [
                {"recipient": r.recipient, "kind": r.kind, "reason": r.reason, "status": r.status}
                for r in result.recipients
            ]
            if result.is_bounce
            else []
        )

    rows = found = kind_ok = reason_ok = status_rows = status_ok = 0
    used: set[tuple[str, int]] = set()
    for row in labels:
        if row.get("bounce") is False or row.get("kind") == "none":
            continue
        rows += 1
        name, wanted = str(row["file"]), str(row["recipient"]).lower()
        match = None
        for index, prediction in enumerate(predictions[name]):
            if (name, index) not in used and prediction["recipient"] == wanted:
                used.add((name, index))
                match = prediction
                break
        expected_status = row.get("status")
        real_status = bool(expected_status) and not PSEUDO_STATUS.match(str(expected_status))
        status_rows += real_status
        if match is None:
            continue
        found += 1
        kind_ok += match["kind"] == row["kind"]
        reason_ok += SAME_REASON.get(str(match["reason"]), match["reason"]) == row["reason"]
        status_ok += real_status and match["status"] == expected_status

    assert found / rows >= 0.99
    assert kind_ok / rows >= 0.98
    assert reason_ok / rows >= 0.95
    assert status_ok / status_rows >= 0.98


def test_devset_non_bounces_are_not_counted() -> None:
    labels = _labels()
    for row in labels:
        if row.get("bounce") is False or row.get("kind") == "none":
            result = classify_message((DEVSET / str(row["file"])).read_bytes())
            assert all(r.kind == "unknown" for r in result.recipients), row["file"]
