"""The audit log's one writer: who did what to which target, with the details as JSON.

`entry` returns the statement for the caller's own `store.execute([...])` batch, so a change and its audit row
commit together (a row on its own: `store.execute([audit.entry(...)])`).
"""

from __future__ import annotations

import json
from typing import Any


def entry(actor: str, action: str, target: str | None, details: Any) -> tuple[str, list]:
    return ("INSERT INTO audit_log (actor, action, target, details) VALUES (?, ?, ?, ?)",
            [actor, action, target, json.dumps(details, ensure_ascii=False, default=str)])
