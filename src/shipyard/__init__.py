"""Shipyard's toolkit logic: the parts of the Invoke tasks that are worth testing on their own."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STATE = ROOT / ".shipyard"  # per-checkout state: SSH key, fact cache, logs (git-ignored)
