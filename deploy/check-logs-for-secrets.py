#!/usr/bin/env python3
"""Fails when any log file holds a secret: the cluster story (cluster-e2e.mjs with
SECRETS_OUT) lists every token, password and phone number it used, and this reads every
file under the given directories (the services' logs, nginx's access and error logs) for
them. A JWT also counts as leaked when only its payload or its signature is there (a log
that cut the token short still names its claims or still carries the proof).

Usage: check-logs-for-secrets.py SECRETS_JSON DIR... [--expect FILE=TEXT]... [--secret-file KIND=PATH]...
  --expect FILE=TEXT        FILE (relative to a DIR) must exist and contain TEXT, so an empty
                            or misplaced log cannot pass by saying nothing
  --secret-file KIND=PATH   also look for the content of PATH (the JWT signing key)
Hits are reported by file, line and kind of secret; the secret itself is never printed.
Exit status: 0 clean, 1 a secret was found or an expected log is missing.
"""

import argparse
import json
import os
import sys


def needles(secrets):
    """(kind, text) pairs to look for."""
    out = []
    for secret in secrets:
        kind, value = secret["kind"], secret["value"]
        out.append((kind, value))
        parts = value.split(".")
        if len(parts) == 3 and all(len(p) >= 16 for p in parts[1:]):
            out.append((f"{kind}: payload", parts[1]))
            out.append((f"{kind}: signature", parts[2]))
    return out


def main(argv):
    parser = argparse.ArgumentParser(description="Fails when a log file holds a secret.")
    parser.add_argument("secrets", help="the JSON file cluster-e2e.mjs wrote (SECRETS_OUT)")
    parser.add_argument("dirs", nargs="+", help="directories whose files are logs")
    parser.add_argument("--expect", action="append", default=[], metavar="FILE=TEXT",
                        help="FILE (relative to a DIR) must exist and contain TEXT")
    parser.add_argument("--secret-file", action="append", default=[], metavar="KIND=PATH",
                        help="one more secret: the content of PATH (a key file)")
    args = parser.parse_args(argv)
    if any("=" not in e for e in args.expect + args.secret_file):
        parser.error("--expect and --secret-file take NAME=VALUE")
    with open(args.secrets) as f:
        secrets = json.load(f)
    for entry in args.secret_file:
        kind, path = entry.split("=", 1)
        with open(path) as f:
            secrets.append({"kind": kind, "value": f.read().strip()})
    if not secrets:
        print("no secrets to look for: the story recorded none")
        return 1
    targets = needles(secrets)
    hits = files = 0
    for root in args.dirs:
        for directory, _, names in os.walk(root):
            for name in sorted(names):
                path = os.path.join(directory, name)
                files += 1
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        for kind, text in targets:
                            if text in line:
                                hits += 1
                                print(f"LEAK     {path}:{number}: {kind}")
    missing = 0
    for expect in args.expect:
        rel, text = expect.split("=", 1)
        paths = [os.path.join(root, rel) for root in args.dirs]
        if not any(os.path.isfile(p) and text in open(p, errors="replace").read() for p in paths):
            missing += 1
            print(f"MISSING  no {rel} containing {text!r}")
    kinds = sorted({s["kind"] for s in secrets})
    print(f"log scan: {len(secrets)} secrets ({', '.join(kinds)}) in {files} files: "
          f"{hits} leaks, {missing} missing logs")
    return 1 if hits or missing or files == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
