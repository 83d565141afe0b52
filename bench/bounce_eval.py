"""Score `mailroom bounce classify` on the shared bounce dev set, if it is present.

Runs the dev set's own scorer (`<repo>/../shared/bounce-devset/score.py`), which
prints hard/soft, reason and status accuracy, recipient recall and files per
second; without the dev set it says so and exits 0.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEVSET = REPO.parent / "shared" / "bounce-devset"


def main() -> int:
    scorer = DEVSET / "score.py"
    if not scorer.is_file():
        print(f"bounce dev set not found at {DEVSET}: nothing to evaluate")
        return 0
    command = Path(sys.executable).with_name("mailroom")
    classifier = [str(command)] if command.exists() else [sys.executable, "-m", "mailroom.cli"]
    completed = subprocess.run(
        [
            sys.executable,
            str(scorer),
            "--corpus",
            str(DEVSET),
            "--labels",
            str(DEVSET / "labels.jsonl"),
            "--",
            *classifier,
            "bounce",
            "classify",
        ],
        cwd=REPO,
        check=False,
    )
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main())
