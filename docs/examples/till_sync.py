"""Send a till's stock export to the marketplace every minute (Python 3.11+, standard library only).

The till writes a CSV file of ``sku;quantity`` lines (the quantities on hand in the shop; a header line
and blank lines are skipped). Each time the file changes, its quantities are sent to
``POST /api/v1/stock`` in batches of 500 lines, each batch with an ``Idempotency-Key`` made of the
export's time and the batch's lines: a batch resent after a timeout is applied once.

A line the marketplace refuses because online orders hold more than the till counts (409) is printed
for the shop to look at and left out; the rest of its batch is sent again without it.

    MARKETPLACE_URL=https://commerces.example.fr MARKETPLACE_KEY=mk_live_... \\
        python till_sync.py /mnt/caisse/export-stock.csv [--once] [--interval 60]

The key needs the scope ``stock:write``. See docs/api.md, "Till stock sync".
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BATCH = 500
TIMEOUT = 30


def say(text: str, error: bool = False) -> None:
    """A line for the person running the script (standard error for problems)."""
    (sys.stderr if error else sys.stdout).write(text + "\n")


class Refused(Exception):
    """The marketplace refused a batch for a reason a retry will not fix (a 4xx other than 409/429)."""


def read_export(path: Path) -> list[dict[str, Any]]:
    """The export's lines as stock lines; a line that is not ``sku;whole number >= 0`` is reported and
    skipped (the rest is still sent)."""
    lines: list[dict[str, Any]] = []
    with path.open(newline="", encoding="utf-8-sig") as export:
        for number, row in enumerate(csv.reader(export, delimiter=";"), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2 or not row[1].strip().isdigit():
                if number > 1:  # the first line may be a header
                    say(f"line {number} skipped: {';'.join(row)!r}", error=True)
                continue
            lines.append({"sku": row[0].strip(), "on_hand": int(row[1].strip()), "reason": "count"})
    return lines


def idempotency_key(exported_at: str, lines: list[dict[str, Any]]) -> str:
    """The same export's same lines give the same key; another export or other lines, another key."""
    digest = hashlib.sha256(json.dumps(lines, sort_keys=True).encode()).hexdigest()[:24]
    return f"till-sync:{exported_at}:{digest}"


def post(base_url: str, key: str, body: dict[str, Any], idempotency: str) -> tuple[int, dict[str, Any], str]:
    request = urllib.request.Request(  # noqa: S310 - the marketplace's address, from the configuration
        base_url.rstrip("/") + "/api/v1/stock",
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Accept-Language": "en",
            "Idempotency-Key": idempotency,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - the configured https URL
            return response.status, json.loads(response.read() or b"{}"), ""
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), error.headers.get("Retry-After", "")


def send_batch(base_url: str, key: str, exported_at: str, lines: list[dict[str, Any]]) -> None:
    """Send one batch; on a stock conflict, report the refused lines and send the others again."""
    waits = 0
    while lines:
        status, answer, retry_after = post(
            base_url, key, {"lines": lines}, idempotency_key(exported_at, lines)
        )
        if status == 200:
            say(f"{len(lines)} SKUs updated")
            return
        if status == 429:
            time.sleep(int(retry_after or "10"))
            continue
        if status == 409 and answer.get("type", "").endswith("#problem-stock-conflict"):
            refused = {error["index"] for error in answer.get("errors", [])}
            for error in answer.get("errors", []):
                line = lines[error["index"]]
                say(
                    f"CONFLICT {line['sku']}: the till counts {line['on_hand']}, online orders hold "
                    f"{error.get('held')}. Cancel an online order or count again.",
                    error=True,
                )
            lines = [line for index, line in enumerate(lines) if index not in refused]
            continue
        if status == 409 and waits < 6:  # the same batch is still being applied (a previous try)
            waits += 1
            time.sleep(5)
            continue
        raise Refused(f"{status}: {answer.get('detail')} {answer.get('errors', '')}")


def sync(path: Path, base_url: str, key: str) -> None:
    exported_at = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")
    lines = read_export(path)
    for start in range(0, len(lines), BATCH):
        send_batch(base_url, key, exported_at, lines[start : start + BATCH])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="the till's CSV export (sku;quantity)")
    parser.add_argument("--interval", type=int, default=60, help="seconds between checks (60)")
    parser.add_argument("--once", action="store_true", help="send the export once and stop")
    options = parser.parse_args()
    base_url, key = os.environ.get("MARKETPLACE_URL", ""), os.environ.get("MARKETPLACE_KEY", "")
    if not base_url or not key:
        parser.error("set MARKETPLACE_URL and MARKETPLACE_KEY")
    sent_mtime = None
    while True:
        try:
            mtime = options.export.stat().st_mtime
            if mtime != sent_mtime:
                sync(options.export, base_url, key)
                sent_mtime = mtime
        except Refused as error:
            say(f"refused, fix the export or the key: {error}", error=True)
            return 1
        except (OSError, ValueError) as error:  # network down, file being written: next minute
            say(f"will retry: {error}", error=True)
        if options.once:
            return 0 if sent_mtime is not None else 1
        time.sleep(options.interval)


if __name__ == "__main__":
    sys.exit(main())
