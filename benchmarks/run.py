"""Run every benchmark, print one table, write it as JSON.

    .venv/bin/python -m benchmarks.run            # full run (about 15 minutes), writes
                                                  # benchmarks/results/latest.json
    .venv/bin/python -m benchmarks.run --quick    # tiny sizes: checks that it all runs
    .venv/bin/python -m benchmarks.run --only 1,5 # some items

Every figure is measured next to its baseline in the same run and reported as a ratio
(figure / baseline). Items:
1 dispatch throughput on SQLite (floor: sqlite3 alone; APScheduler SQLAlchemyJobStore)
2 I/O-bound throughput (50 ms adapter) against concurrency / latency
3 punctuality (10,000 posts due within a minute; a post enqueued 1 s before it is due)
4 idle cost with 1,000,000 future posts queued against 1,000
5 start-up of `postbot enqueue` against `python -c "import sqlmodel"`
6 bulk import of 100,000 posts (files; a loop of library calls) against raw executemany
7 PostgreSQL scale-out: 1, 2 and 4 workers
8 dry-run dispatch (`postbot run --dry-run --once`) against the sqlite3 floor of the same work
9 a /metrics scrape with 1,000,000 deliveries against 1,000
10 `postbot doctor` (offline) against `postbot status`
11 threads: 10-part threads against as many single posts, 50 ms adapter
12 feeds: a 10,000-item feed first polled and re-polled unchanged against feedparser alone;
   50 feeds answered with 304, all polled, against the 50 conditional GETs alone
13 the web calendar's week view with 2,000 deliveries: against the same rows as JSON; its size;
   twenty concurrent readers against one
14 `enqueue --next-slot` with 10,000 deliveries queued against a plain `enqueue --at`
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, pg_available  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "latest.json"
ITEMS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14)


@dataclass(frozen=True)
class Sizes:
    throughput: int = 100_000  # item 1: due deliveries
    throughput_runs: int = 2  # item 1: daemon and floor runs each (best is reported)
    aps: int = 100_000  # item 1: APScheduler jobs
    io: int = 2_400  # item 2: deliveries through the 50 ms adapter
    burst: int = 10_000  # item 3: posts due within the window
    burst_window: float = 60.0
    late_tries: int = 50
    idle_big: int = 1_000_000
    idle_small: int = 1_000
    idle_seconds: float = 60.0
    startup_runs: int = 10
    bulk: int = 100_000
    scale: int = 4_000  # item 7: deliveries per round
    dry_posts: int = 5_000  # item 8: posts, to three accounts each
    dry_runs: int = 3  # item 8: daemon and floor runs each (best is reported)
    lead: float = 8.0  # items 3 and 7: seconds between queueing and the first due time
    scrape_big: int = 1_000_000  # item 9: deliveries in the big database
    scrape_small: int = 1_000
    scrape_runs: int = 50
    doctor_runs: int = 10  # item 10
    week: int = 2_000  # item 13: deliveries in the week shown
    week_around: int = 10_000  # item 13: deliveries in the weeks around it
    week_runs: int = 30  # item 13: single-reader requests of each route
    week_readers: int = 20  # item 13: concurrent readers ...
    week_per_reader: int = 15  # ... and the requests each makes
    threads_alone: int = 5  # item 11a: 10-part threads, concurrency 1
    threads_side: int = 80  # item 11b: 10-part threads, concurrency 8
    thread_runs: int = 2  # item 11: runs each (best is reported)
    slot_queue: int = 10_000  # item 14: deliveries queued
    slot_runs: int = 100  # item 14a: service calls each
    slot_cli_runs: int = 10  # item 14b: commands each
    feed_items: int = 10_000  # item 12a: items in the big feed
    feed_runs: int = 3  # item 12: runs each (best, or median for 12b)
    feeds: int = 50  # item 12b: feeds answered with 304 ...
    feed_size: int = 100  # ... of this many items each
    feed_idle: float = 60.0  # item 12c: seconds of CPU measured between polls
    feed_articles: int = 20  # item 12d: new articles appearing ...
    feed_every: float = 10.0  # ... in a feed polled this often (seconds)


QUICK = Sizes(
    throughput=300, throughput_runs=1, aps=100, io=32, burst=30, burst_window=2.0, late_tries=2,
    idle_big=2_000, idle_small=100, idle_seconds=2.0, startup_runs=1, bulk=30, scale=32,
    dry_posts=100, dry_runs=1, lead=2.0, week=100, week_around=100, week_runs=3,
    week_readers=4, week_per_reader=2, scrape_big=3_000, scrape_small=300, scrape_runs=3,
    doctor_runs=1, threads_alone=1, threads_side=8, thread_runs=1, slot_queue=300, slot_runs=3,
    slot_cli_runs=1, feed_items=100, feed_runs=1, feeds=5, feed_size=10, feed_idle=2.0,
    feed_articles=2, feed_every=1.0,
)  # fmt: skip


@dataclass
class Row:
    """One line of the table: a figure, its baseline from the same run, and their ratio."""

    id: str
    item: int
    what: str
    value: float | None
    unit: str
    baseline_what: str
    baseline: float | None
    target: str
    met: bool | None  # None: no target on this line, or not measured
    ratio: float | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.baseline:
            self.ratio = self.value / self.baseline


def _skipped(item: int, rid: str, what: str, reason: str) -> Row:
    return Row(rid, item, what, None, "", "", None, "", None, note=f"not measured: {reason}")


# -- items --------------------------------------------------------------------------------------
def item1(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import throughput as t

    template = t.prepare(work, s.throughput)
    ours, floors = [], []
    for i in range(s.throughput_runs):
        ours.append(t.daemon_pass(work, template, f"daemon-{i}"))
        # Same statements, same batch sizes as the daemon's configuration (batch_size 200;
        # the daemon's own claims are smaller, bounded by 4 x concurrency in flight).
        floors.append(t.sqlite_floor(work, template, 200, 200))
    aps = t.apscheduler_baseline(work, s.aps)
    details["1"] = {"daemon": ours, "floor": floors, "apscheduler": aps}
    best = max(ours, key=lambda r: r["rate"])
    floor = max(floors, key=lambda r: r["rate"])
    ok = all(r["published"] == s.throughput for r in ours)
    what = f"dispatch throughput, SQLite, instant adapter, {s.throughput:,} due"
    note = (f"best of {s.throughput_runs}; daemon claims {best['claim_mean']:.0f}/claim,"
            f" records {best['record_mean']:.0f}/batch; all published: {ok}")  # fmt: skip
    return [
        Row("1a", 1, what, best["rate"], "deliveries/s",
            "floor: same claim+record SQL via sqlite3, batches of 200", floor["rate"],
            ">= 0.10 x floor", best["rate"] >= 0.10 * floor["rate"] and ok, note=note),
        Row("1b", 1, what, best["rate"], "deliveries/s",
            f"APScheduler, {s.aps:,} jobs in SQLAlchemyJobStore (SQLite), 8 threads",
            aps["rate"], ">= 10 x APScheduler", best["rate"] >= 10 * aps["rate"] and ok,
            note="" if aps["complete"] else "APScheduler did not finish in the time limit"),
    ]  # fmt: skip


def item2(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import throughput as t

    accounts = {"bench-a": "bench-slow", "bench-b": "bench-slow"}
    (work / "io").mkdir()
    template = t.prepare(work / "io", s.io, accounts)
    got = t.daemon_pass(work / "io", template, "daemon", accounts)
    details["2"] = got
    ideal = 8 / 0.05
    return [
        Row("2", 2, f"I/O-bound throughput, 50 ms adapter, concurrency 8, {s.io:,} deliveries",
            got["rate"], "deliveries/s", "ideal: concurrency / latency = 8 / 0.05 s", ideal,
            ">= 0.80 x ideal", got["rate"] >= 0.8 * ideal and got["published"] == s.io),
    ]  # fmt: skip


def item3_and_4(work: Path, s: Sizes, details: dict[str, Any], items: set[int]) -> list[Row]:
    """3(a) alone; then 3(b) and 4's measuring window side by side (both mostly idle)."""
    from benchmarks import idle, punctuality

    rows: list[Row] = []
    if 3 in items:
        burst = punctuality.burst(work, s.burst, s.burst_window, s.lead)
        bare = punctuality.bare_scheduler(work, burst.pop("due"), s.lead / 2)
        details["3a"] = {"daemon": burst, "bare_scheduler": bare}
        d, b = burst["stats"], bare["stats"]
        what = f"punctuality, {s.burst:,} posts due within {s.burst_window:g} s"
        base = "bare APScheduler date jobs, same due times"
        complete = burst["published"] == s.burst
        rows += [
            Row("3a-p50", 3, what + ": lateness p50", d["p50"], "ms", base + " (p50)", b["p50"],
                "", None),
            Row("3a-p99", 3, what + ": lateness p99", d["p99"], "ms", base + " (p99)", b["p99"],
                "p99 < 100 ms", d["p99"] < 100 and complete,
                note=f"published {burst['published']:,} of {s.burst:,}"),
            Row("3a-max", 3, what + ": lateness max", d["max"], "ms", base + " (max)", b["max"],
                "", None),
        ]  # fmt: skip
    big_small = idle.prepare(work, s.idle_big, s.idle_small) if 4 in items else None
    result: dict[str, Any] = {}
    thread = None
    if big_small is not None:
        thread = threading.Thread(
            target=lambda: result.update(idle.idle(big_small, s.idle_seconds)), daemon=True
        )
        thread.start()
    if 3 in items:
        late = punctuality.late_enqueue(work, s.late_tries)
        details["3b"] = late
        baseline = details["3a"]["bare_scheduler"]["stats"]["p99"]
        rows.append(Row(
            "3b", 3, f"post enqueued by a second process 1 s before due: lateness p99 over"
            f" {s.late_tries} tries", late["stats"]["p99"], "ms",
            "bare APScheduler date jobs (p99, from 3a)", baseline, "p99 < 1000 ms",
            late["stats"]["p99"] < 1000 and late["missing"] == 0,
            note=f"max {late['stats']['max']:.1f} ms; missing {late['missing']}",
        ))  # fmt: skip
    if thread is not None:
        thread.join()
        details["4"] = result
        big, small = result["big"], result["small"]
        what = f"idle daemon, {big['posts']:,} future posts, {result['seconds']:.0f} s"
        base = f"same daemon, {small['posts']:,} future posts"
        mib = 2**20
        rows += [
            Row("4a", 4, what + ": CPU", big["cpu_percent"], "% of a core", base,
                small["cpu_percent"], "< 1% of a core", big["cpu_percent"] < 1.0,
                note=f"CPU {big['cpu_seconds']:.2f} s vs {small['cpu_seconds']:.2f} s"),
            Row("4b", 4, what + ": resident memory", big["rss"] / mib, "MiB", base,
                small["rss"] / mib, "<= 1.2 x baseline", big["rss"] <= 1.2 * small["rss"],
                note=f"peak (VmHWM) {big['rss_hwm'] / mib:.1f}"
                     f" vs {small['rss_hwm'] / mib:.1f} MiB"),
        ]  # fmt: skip
    return rows


def item5(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import startup

    got = startup.startup(work, s.startup_runs)
    details["5"] = got
    return [
        Row("5", 5, "start-up: `postbot enqueue \"…\" --tag --link --at +2h` (3 accounts)",
            got["enqueue"], "s", 'python -c "import sqlmodel"', got["import_sqlmodel"],
            "<= 1.5 x baseline", got["enqueue"] <= 1.5 * got["import_sqlmodel"],
            note=f"median of {s.startup_runs}, alternating"),
    ]  # fmt: skip


def item6(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import bulk

    raw = bulk.raw_executemany(work, s.bulk)
    raw_loop = bulk.raw_per_transaction(work, s.bulk)
    irreducible = bulk.irreducible(work, s.bulk)
    files = bulk.from_files(work, s.bulk)
    loop = bulk.enqueue_loop(work, s.bulk)
    details["6"] = {"raw_executemany": raw, "raw_per_transaction": raw_loop, "files": files,
                    "loop": loop, "irreducible": irreducible}  # fmt: skip
    base = "raw sqlite3 executemany of the same rows, one transaction"
    n = f"{s.bulk:,}"
    return [
        Row("6a", 6, f"bulk import, {n} post files (3 accounts each)", files["seconds"], "s",
            base, raw, "<= 3 x baseline",
            files["seconds"] <= 3 * raw and files["deliveries"] == 3 * s.bulk,
            note=f"{s.bulk / files['seconds']:,.0f} posts/s"),
        Row("6b", 6, f"bulk import, loop of {n} library enqueue calls", loop["seconds"], "s",
            base, raw, "<= 3 x baseline",
            loop["seconds"] <= 3 * raw and loop["deliveries"] == 3 * s.bulk,
            note=f"{s.bulk / loop['seconds']:,.0f} posts/s"),
        Row("6c", 6, "(floor of 6b) the same rows, raw sqlite3, one transaction per post",
            raw_loop, "s", base, raw, "", None,
            note="what one committed transaction per enqueue costs at least"),
        Row("6d", 6, f"bulk import, {n} post files (3 accounts each)", files["seconds"], "s",
            "irreducible: the same files read, front matter parsed (libyaml), each target's"
            " text counted (same functions), one executemany", irreducible["seconds"],
            "<= 1.5 x baseline",
            files["seconds"] <= 1.5 * irreducible["seconds"] and files["deliveries"] == 3 * s.bulk,
            note=f"{s.bulk / irreducible['seconds']:,.0f} posts/s bare; read by"
            f" {files['readers']} processes; CPU {files['cpu']:.1f} s against"
            f" {irreducible['cpu']:.1f} s ({files['cpu'] / max(irreducible['cpu'], 1e-6):.2f} x)"),
    ]  # fmt: skip


def item7(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import scaleout

    reason = pg_available()
    if reason:
        return [_skipped(7, f"7-{k}", f"PostgreSQL scale-out, {k} worker(s)", reason)
                for k in (1, 2, 4)]  # fmt: skip
    rounds = {k: scaleout.round_(work, k, s.scale, s.lead / 2) for k in (1, 2, 4)}
    details["7"] = rounds
    one = rounds[1]["rate"]
    rows = []
    for k, r in rounds.items():
        rows.append(Row(
            f"7-{k}", 7, f"PostgreSQL, {k} worker(s), 50 ms adapter, {s.scale:,} deliveries",
            r["rate"], "deliveries/s",
            "ideal for 1 worker: 8 / 0.05 s" if k == 1 else "1 worker, same run",
            8 / 0.05 if k == 1 else one,
            ">= 3.5 x 1 worker, each published exactly once" if k == 4 else "",
            (r["rate"] >= 3.5 * one and all(x["exactly_once"] for x in rounds.values()))
            if k == 4 else None,
            note=f"exactly once: {r['exactly_once']}; per worker {r['per_worker']}",
        ))  # fmt: skip
    return rows


def item8(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import dryrun

    template = dryrun.prepare(work, s.dry_posts)
    ours, floors = [], []
    for i in range(s.dry_runs):  # alternating, so both see the same machine
        ours.append(dryrun.daemon_pass(work, template, f"dry-{i}"))
        floors.append(dryrun.sqlite_floor(work, template))
    details["8"] = {"daemon": ours, "floor": floors}
    best = max(ours, key=lambda r: r["rate"])
    floor = max(floors, key=lambda r: r["rate"])
    total = 3 * s.dry_posts
    ok = all(r["published"] == total for r in ours)
    return [
        Row("8", 8, f"dry-run dispatch, `run --dry-run --once`, {total:,} due (3 accounts,"
            " pace off)", best["rate"], "deliveries/s",
            "floor: sqlite3, claim 100 (UPDATE ... RETURNING) + attempt INSERT + delivery"
            " UPDATE per row, one transaction", floor["rate"], ">= 0.15 x floor",
            best["rate"] >= 0.15 * floor["rate"] and ok,
            note=f"best of {s.dry_runs}; {best['log_lines']:,} log lines; all published: {ok}"),
    ]  # fmt: skip


def item9(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import ops

    got = ops.scrape(work, s.scrape_big, s.scrape_small, s.scrape_runs)
    details["9"] = got
    hist, future = got["history"], got["future"]
    return [
        Row("9a", 9, f"/metrics scrape, {s.scrape_big:,} deliveries ({s.scrape_small:,} queued,"
            " the rest published)", hist["big"] * 1000, "ms",
            f"the same scrape, {s.scrape_small:,} deliveries (the same queue)",
            hist["small"] * 1000, "<= 2 x baseline", hist["big"] <= 2 * hist["small"],
            note=f"median of {s.scrape_runs}, alternating; over HTTP"),
        Row("9b", 9, f"/metrics scrape, {s.scrape_big:,} deliveries queued for later",
            future["big"] * 1000, "ms", f"the same scrape, {s.scrape_small:,} queued for later",
            future["small"] * 1000, "<= 2 x baseline", future["big"] <= 2 * future["small"],
            note=f"median of {s.scrape_runs}, alternating; over HTTP"),
    ]  # fmt: skip


def item10(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import ops

    got = ops.doctor_vs_status(work, s.doctor_runs)
    details["10"] = got
    return [
        Row("10", 10, "`postbot doctor` (offline), 3 accounts, 3,600 deliveries", got["doctor"],
            "s", "`postbot status`, same project", got["status"], "<= 1.5 x baseline",
            got["doctor"] <= 1.5 * got["status"], note=f"median of {s.doctor_runs}, alternating"),
    ]  # fmt: skip


def item11(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import threads

    alone = threads.compare(work, "alone", s.threads_alone, 10, 1, s.thread_runs)
    side = threads.compare(work, "side", s.threads_side, 10, 8, s.thread_runs)
    details["11"] = {"alone": alone, "side_by_side": side}
    rows = []
    for rid, got, n, c in (("11a", alone, s.threads_alone, 1), ("11b", side, s.threads_side, 8)):
        mine, base = got["threads"]["seconds"], got["singles"]["seconds"]
        parts = n * 10
        # What postbot adds per post beyond the adapter's 50 ms, each way.
        over = (mine * c / parts - 0.05) * 1000
        over_single = (base * c / parts - 0.05) * 1000
        rows.append(Row(
            rid, 11, f"{n} thread(s) of 10 parts, 50 ms adapter, concurrency {c}", mine, "s",
            f"{parts} single posts, same adapter and concurrency", base,
            "<= 1.10 x baseline (10% per part at most)",
            mine <= 1.10 * base and got["complete"],
            note=f"beyond the adapter's latency: {over:.2f} ms per part, {over_single:.2f} ms"
                 f" per single post; best of {s.thread_runs}; complete: {got['complete']}",
        ))  # fmt: skip
    return rows


def item12(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import feeds

    return feeds.rows(work, s, details, Row)


def item13(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import web

    got = web.measure(work, s.week, s.week_around, s.week_runs, s.week_readers,
                      s.week_per_reader)  # fmt: skip
    details["13"] = got
    r = got["round"]
    ratios = ", ".join(f"{x['ratio']:.2f}" for x in got["rounds"])
    n = f"{s.week:,}"
    ms = 1000
    shown = got["chips"] == s.week and got["status"] == 200
    return [
        Row("13a", 13, f"web: week view, {n} deliveries in the week (median of {s.week_runs})",
            got["page_median"] * ms, "ms",
            "bare route, the same rows as JSON (/api/week, show --json shapes)",
            got["json_median"] * ms, "<= 3 x baseline",
            got["page_median"] <= 3 * got["json_median"] and shown,
            note=f"{got['chips']:,} chips shown; {s.week_around:,} deliveries in other weeks"),
        Row("13b", 13, f"web: week view's size, {n} deliveries", got["page_bytes"] / 1024, "KiB",
            "the same rows as JSON", got["json_bytes"] / 1024, "< 300 KB",
            got["page_bytes"] < 300_000 and shown),
        Row("13c", 13, f"web: {s.week_readers} concurrent readers of the week view, p99 of"
            f" {s.week_readers * s.week_per_reader} requests", r["p99"] * ms, "ms",
            "one reader alone just before, p50", r["alone_p50"] * ms, "p99 < 5 x baseline",
            r["p99"] < 5 * r["alone_p50"],
            note=f"median of 3 rounds (ratios {ratios});"
                 f" concurrent p50 {r['p50'] * ms:.1f} ms, {r['rate']:.0f} pages/s"),
    ]  # fmt: skip


def item14(work: Path, s: Sizes, details: dict[str, Any]) -> list[Row]:
    from benchmarks import slots

    return slots.rows(work, s, details, Row)


# -- the table ----------------------------------------------------------------------------------
def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def table(rows: list[Row]) -> str:
    head = ["id", "figure", "value", "unit", "baseline", "base value", "ratio", "target", "met"]
    lines = [[r.id, r.what, _fmt(r.value), r.unit, r.baseline_what, _fmt(r.baseline),
              _fmt(r.ratio), r.target or "-",
              {True: "yes", False: "NO", None: "-"}[r.met]] for r in rows]  # fmt: skip
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def markdown(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    out = [
        f"Command: `{doc['command']}` · {doc['finished_at']} · {doc['duration_s']:.0f} s",
        f"Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']},"
        f" Python {m['python']}, SQLite {m['sqlite']}",
        "",
        "| | figure | value | baseline (same run) | baseline value | ratio | target | met |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in doc["rows"]:
        met = {True: "yes", False: "**no**", None: "–"}[r["met"]]
        value = f"{_fmt(r['value'])} {r['unit']}".strip()
        out.append(
            f"| {r['id']} | {r['what']} | {value} | {r['baseline_what']} |"
            f" {_fmt(r['baseline'])} | {_fmt(r['ratio'])} | {r['target'] or '–'} | {met} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--only", help="comma-separated items, e.g. 1,5")
    parser.add_argument("--out", type=Path, help=f"JSON output (default {DEFAULT_OUT})")
    parser.add_argument("--workdir", type=Path, help="keep the databases and logs here")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else Sizes()
    items = {int(x) for x in args.only.split(",")} if args.only else set(ITEMS)
    out_path = args.out or DEFAULT_OUT
    work = args.workdir or Path(tempfile.mkdtemp(prefix="postbot-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    command = (
        "python -m benchmarks.run"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else "")
    )
    started = time.monotonic()
    started_at = datetime.now(UTC)
    rows: list[Row] = []
    details: dict[str, Any] = {}
    steps = [(5, item5), (1, item1), (2, item2), (6, item6), (7, item7), (8, item8),
             (9, item9), (10, item10), (11, item11), (12, item12), (13, item13),
             (14, item14)]  # fmt: skip
    try:
        for number, step in steps:
            if number in items:
                print(f"[{time.monotonic() - started:6.0f} s] item {number} …", flush=True)
                rows += step(work, sizes, details)
        if items & {3, 4}:
            print(f"[{time.monotonic() - started:6.0f} s] items 3, 4 …", flush=True)
            rows += item3_and_4(work, sizes, details, items)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    rows.sort(key=lambda r: (r.item, r.id))
    doc = {
        "command": command,
        "quick": args.quick,
        "started_at": started_at.isoformat(timespec="seconds"),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": time.monotonic() - started,
        "machine": machine(),
        "sizes": asdict(sizes),
        "rows": [asdict(r) for r in rows],
        "details": details,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
    out_path.with_suffix(".md").write_text(markdown(doc) + "\n", encoding="utf-8")
    print()
    print(table(rows))
    print(f"\nwritten: {out_path} (and {out_path.with_suffix('.md').name});"
          f" {doc['duration_s']:.0f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
