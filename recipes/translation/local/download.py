#!/usr/bin/env python3
"""Fetch a parallel corpus file for users with internet (stage 0 of run.sh; never needed by default).

    python local/download.py URL data/local/deu.txt

URL is the file itself or a .zip holding a member of the same base name (the manythings.org/anki
exports, e.g. deu-eng.zip -> deu.txt). Skips the download when the target exists; writes
atomically, so an interrupted download leaves nothing behind.
"""
import argparse
import io
import shutil
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("url")
    p.add_argument("target", type=Path)
    args = p.parse_args()
    if args.target.is_file():
        print(f"{args.target}: already there, not downloaded again", file=sys.stderr)
        return 0
    args.target.parent.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(args.url, headers={"User-Agent": "toolkit-translation-recipe"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            data = response.read()
    except OSError as e:
        print(f"download of {args.url} failed: {e}", file=sys.stderr)
        return 1
    if args.url.lower().endswith(".zip"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            members = [m for m in z.namelist() if Path(m).name == args.target.name]
            if not members:
                print(f"{args.url}: no member named {args.target.name} (members: {', '.join(z.namelist())})",
                      file=sys.stderr)
                return 1
            data = z.read(members[0])
    with tempfile.NamedTemporaryFile(dir=args.target.parent, delete=False) as tmp:
        tmp.write(data)
    shutil.move(tmp.name, args.target)
    print(f"{args.url} -> {args.target} ({len(data)} bytes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
