"""Fork server for the crash tests: runs `python -m analysis ...` commands in children the tests SIGKILL.

It imports and warms up everything once (jieba, the sentiment model), then for each JSON argv read on
stdin forks a child that runs the real CLI (`analysis.__main__.main`), so a trial costs the work only, not
the interpreter start. Protocol on stdout, one line each, written with a single os.write:
`@ready`, `@started PID`, `@PID begin|end PHASE` around every store write and inbox queueing (so a test
knows where the kill landed), `@exited PID CODE` (CODE -9 when killed). Never opens a database itself:
a forked child must not inherit a DuckDB connection.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis import __main__ as cli  # noqa: E402
from analysis import alerts, incidents, ingest, settings  # noqa: E402,F401
from analysis.ingest import router  # noqa: E402
from analysis.store import Store  # noqa: E402


def say(line: str) -> None:
    os.write(1, (line + "\n").encode())


def announced(phase: str, fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        say(f"@{os.getpid()} begin {phase}")
        result = fn(*args, **kwargs)
        say(f"@{os.getpid()} end {phase}")
        return result
    return wrapper


def main() -> None:
    Store.write_batch = announced("write", Store.write_batch)
    Store.execute = announced("execute", Store.execute)
    router.queue_prepared = announced("queue", router.queue_prepared)  # where the CLI looks it up
    warm = "post_id,channel,created_at,text\nw1,微博,2026-11-10 10:00,西固区化工厂爆炸了\n"
    ingest.prepare(warm.encode(), "warmup.csv")  # loads jieba and the sentiment model once, before forking
    say("@ready")
    for line in sys.stdin:
        if not line.strip():
            continue
        argv = json.loads(line)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the CLI's own output; phases use say()
                code = cli.main(argv)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                traceback.print_exc()
            os._exit(code or 0)
        say(f"@started {pid}")
        _, status = os.waitpid(pid, 0)
        say(f"@exited {pid} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    main()
