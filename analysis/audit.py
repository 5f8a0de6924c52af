"""The audit log's one writer: who did what to which target, with the details as JSON.

`entry` returns the statement for a caller's own `store.execute([...])` batch, so the change and its audit row
commit together; `record` writes a row on its own.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the writer needs no database driver of its own: callers pass their store
    from analysis.store import Store


def entry(actor: str, action: str, target: str | None, details: Any) -> tuple[str, list]:
    return ("INSERT INTO audit_log (actor, action, target, details) VALUES (?, ?, ?, ?)",
            [actor, action, target, json.dumps(details, ensure_ascii=False, default=str)])


def record(store: Store, actor: str, action: str, target: str | None, details: Any) -> None:
    store.execute([entry(actor, action, target, details)])
