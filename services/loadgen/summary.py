#!/usr/bin/env python3
"""Writes the summary.md of a bench.sh results directory to stdout: one table per run with its
figure, the command that measured it and the run's CPU split, read from the runs' JSON.

Usage: summary.py RESULTS_DIR
"""

import json
import os
import shlex
import sys

RUNS = [
    ("chat-closed.json", "1. Chat, closed loop, one gateway replica (A) behind nginx"),
    ("chat-open.json", "2. Chat, open loop, visitors on replica A, owners on replica B, behind nginx"),
    ("idle.json", "3. Idle sockets, one room per socket, on replica A's port"),
    ("http-user.json", "4. GET /user/<uuid>/ on accounts-api"),
    ("http-profile.json", "Extra: GET /api/profile/ (Bearer) on accounts-api"),
    ("http-login.json", "Extra: POST /api/login/ on accounts-api"),
]


def num(x, digits=1):
    if x is None:
        return "n/a"
    if isinstance(x, int) or float(x).is_integer() and abs(x) >= 100:
        return f"{int(round(x)):,}"
    return f"{x:,.{digits}f}"


def figure(name, r):
    if name.startswith("chat-"):
        lat = r["latency_ms"]
        rate = "" if r["target_rate"] is None else f"at {num(r['target_rate'])} msgs/s offered, "
        return (
            f"{rate}**{num(r['delivered_per_second'])} msgs/s delivered**, "
            f"{num(r['lost'])} lost of {num(r['sent'])} sent; latency p50 {num(lat['p50'], 2)} ms, "
            f"p99 {num(lat['p99'], 2)} ms, p99.9 {num(lat['p99_9'], 2)} ms, max {num(lat['max'], 2)} ms; "
            f"{r['rooms']} rooms, {r['sockets']} sockets, {num(r['measured_seconds'])} s measured"
        )
    if name == "idle.json":
        mib = lambda kib: num(kib / 1024, 1)  # noqa: E731
        return (
            f"**{num(r['server_rss_per_socket_kib'], 2)} KiB per socket**: RSS {mib(r['server_rss_before_kib'])} MiB "
            f"before, {mib(r['server_rss_after_kib'])} MiB after; {num(r['open'])} of {num(r['requested'])} "
            f"sockets open ({num(r.get('open_after_hold'))} still open after the hold, {num(r['failed'])} failed) "
            f"in {num(r.get('rooms'))} rooms; connected in {num(r['connect_seconds'])} s"
            + (f"; first error: {r['first_error']}" if r.get("first_error") else "")
        )
    w = r.get("wrk", {})
    lat = w.get("latency_ms", {})
    errors = f"; non-2xx: {w.get('non_2xx')}" if w.get("non_2xx") else ""
    errors += f"; socket errors: {w['socket_errors']}" if w.get("socket_errors") else ""
    return (
        f"**{num(w.get('requests_per_second'))} req/s**, p50 {num(lat.get('p50'), 2)} ms, "
        f"p99 {num(lat.get('p99'), 2)} ms ({num(w.get('requests'))} requests){errors}"
    )


def command(r):
    argv = list(r.get("command", []))
    if argv:
        argv[0] = os.path.basename(argv[0])
    # The watch list is the same for every run; the CPU rows below name it.
    shown, skip = [], False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg == "--watch":
            skip = True
            continue
        shown.append(arg)
    return " ".join(shlex.quote(a) for a in shown).replace("|", "\\|")


def cpu_rows(r):
    cpu = r.get("cpu")
    if not cpu:
        return ["| CPU split | not recorded |"]
    rows = [f"| CPU window | {num(cpu['window_seconds'], 2)} s |"]
    for t in cpu["trees"]:
        procs = t.get("processes")
        label = f"{t['name']} ({procs} processes)" if procs and procs > 1 else t["name"]
        rows.append(f"| CPU: {label} | {num(t['cpu_seconds'], 2)} s = {num(t['cores'], 2)} cores |")
    rows.append(
        f"| CPU: all of the above | {num(cpu['total_cpu_seconds'], 2)} s = {num(cpu['total_cores'], 2)} cores |"
    )
    return rows


def main(results):
    print(f"# Benchmark summary: {os.path.basename(os.path.normpath(results))}\n")
    print(
        "Figures and CPU splits as measured by `services/loadgen/bench.sh`; every process shares the "
        "machine's cores with the others, the load generator included. CPU seconds are read from "
        "`/proc/<pid>/stat` (utime + stime of each process and its descendants, plus the children "
        "they reaped) at the start and end of each run's measured window; \"cores\" is CPU seconds "
        "divided by the window. Postgres is the whole server: any other client of it during the "
        "run is counted too.\n"
    )
    load = os.path.join(results, "loadavg.txt")
    if os.path.exists(load):
        with open(load) as f:
            runs = "; ".join(line.strip() for line in f if line.strip())
        print(f"Load average (1, 5, 15 min) before each run: {runs}.\n")
    for file, title in RUNS:
        path = os.path.join(results, file)
        print(f"## {title}\n")
        if not os.path.exists(path):
            print("Not run.\n")
            continue
        with open(path) as f:
            r = json.load(f)
        print("| | |\n|---|---|")
        print(f"| figure | {figure(file, r)} |")
        print(f"| command | `{command(r)}` |")
        print("\n".join(cpu_rows(r)))
        profile = os.path.join(results, "profile-" + file.removesuffix(".json") + ".txt")
        if os.path.exists(profile):
            print(f"| profile | `{os.path.basename(profile)}` |")
        print()


if __name__ == "__main__":
    main(sys.argv[1])
