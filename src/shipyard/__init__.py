"""Shipyard's toolkit logic: the parts of the Invoke tasks that are worth testing on their own."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Per-checkout state: SSH key, fact cache, generated secrets, the boxes' inventory (git-ignored).
# SHIPYARD_STATE moves it: the end-to-end tests use a folder of their own, outside the checkout, so
# they never touch a developer's boxes, key or secrets.
STATE = Path(os.environ.get("SHIPYARD_STATE") or ROOT / ".shipyard").resolve()
