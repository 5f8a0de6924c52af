"""Files in, posts out: read any supported file, validate every row, enrich, and hand the batch to the store.

Every row read ends as exactly one of: inserted, duplicate, quarantined with a reason. When another process owns
the database file, the validated batch is queued in the inbox folder as Parquet and imported atomically by whichever
process next owns the file. The modules, each importing only those before it:

- `layouts` — known export layouts as data, mapped onto the canonical columns;
- `read` — limits, encodings, CSV/TSV/Excel/JSON/JSON Lines into string records;
- `validation` — typing and checking each row (with its reason), enrichment;
- `inbox` — batches: prepare, write, stage as Parquet, queue and drain the inbox;
- `bulk` — big files: chunked reading, a spawned worker pool, staged parts written as one batch;
- `router` — the entry points (`ingest_files`, `ingest_bytes`) and the summaries for people.

The names callers use are importable from the package itself (`from analysis import ingest; ingest.ingest_files`).
"""

from analysis.ingest.inbox import (
    POSTS_PART_SCHEMA,
    QUARANTINE_PART_SCHEMA,
    STALE_INBOX_SECONDS,
    FileSummary,
    PreparedBatch,
    commit_to_inbox,
    drain_inbox,
    prepare,
    prepare_table,
    queue_prepared,
    remove_staged,
    staged_summary,
    table_from_frame,
    write_part,
    write_prepared,
    write_staged,
)
from analysis.ingest.read import (
    MAX_INGEST_BYTES,
    RawTable,
    UnreadableFile,
    clean_cells,
    column_names,
    delimited_chunks,
    delimiter,
    drop_truncated_tail,
    jsonl_chunks,
    read_table,
    sniff_format,
    stream_encoding,
)
from analysis.ingest.router import ingest_bytes, ingest_files, quarantine_csv, quarantine_rows, summary_table, totals
from analysis.ingest.validation import REASONS_ZH, enrich, parse_count, parse_datetimes, validate

__all__ = [
    "FileSummary",
    "MAX_INGEST_BYTES",
    "POSTS_PART_SCHEMA",
    "PreparedBatch",
    "QUARANTINE_PART_SCHEMA",
    "REASONS_ZH",
    "RawTable",
    "STALE_INBOX_SECONDS",
    "UnreadableFile",
    "clean_cells",
    "column_names",
    "commit_to_inbox",
    "delimited_chunks",
    "delimiter",
    "drain_inbox",
    "drop_truncated_tail",
    "enrich",
    "ingest_bytes",
    "ingest_files",
    "jsonl_chunks",
    "parse_count",
    "parse_datetimes",
    "prepare",
    "prepare_table",
    "quarantine_csv",
    "quarantine_rows",
    "queue_prepared",
    "read_table",
    "remove_staged",
    "sniff_format",
    "staged_summary",
    "stream_encoding",
    "summary_table",
    "table_from_frame",
    "totals",
    "validate",
    "write_part",
    "write_prepared",
    "write_staged",
]
