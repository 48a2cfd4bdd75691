"""Token counting with no network, beside tiktoken itself.

Times, in fresh interpreters (what each agent call of the loop pays once): loading cl100k_base
from the copy ossa-hooks ships (gunzip, hash check, build) versus tiktoken's own
`get_encoding("cl100k_base")` reading its download cache (prepared here from the same bytes, so
neither touches the network); then counting the tokens of this repository's Python files with
each encoding. Runs are interleaved; medians are printed with the ratio and the target.

    python bench/bench_budget.py [--runs 9]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ossa_hooks.agents import budget as budget

TARGET_RATIO = 1.5
URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"

OURS = "from ossa_hooks.agents import budget; budget.encoding('cl100k_base').encode('warm up')"
THEIRS = "import tiktoken; tiktoken.get_encoding('cl100k_base').encode('warm up')"


def timed(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        data = gzip.decompress((budget.encodings_dir() / "cl100k_base.tiktoken.gz").read_bytes())
        Path(cache, hashlib.sha1(URL.encode()).hexdigest()).write_bytes(data)
        env = dict(os.environ, TIKTOKEN_CACHE_DIR=cache)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.runs):
            ours.append(timed(OURS, env))
            theirs.append(timed(THEIRS, env))
        o, t = statistics.median(ours), statistics.median(theirs)
        print(f"load cl100k_base, fresh interpreter (median of {args.runs}):")
        print(f"  ossa-hooks (shipped, hash-checked) {o * 1000:7.1f} ms")
        print(f"  tiktoken (its download cache)      {t * 1000:7.1f} ms")
        print(f"  ratio {o / t:.2f}x (target <= {TARGET_RATIO}x)")

        import tiktoken

        os.environ["TIKTOKEN_CACHE_DIR"] = cache
        ref = tiktoken.get_encoding("cl100k_base")
        mine = budget.encoding("cl100k_base")
        root = Path(__file__).resolve().parent.parent
        files = sorted(root.glob("ossa_hooks/**/*.py"))
        text = "\n".join(p.read_text(encoding="utf-8") for p in files)
        start = time.perf_counter()
        n_mine = len(mine.encode(text, disallowed_special=()))
        t_mine = time.perf_counter() - start
        start = time.perf_counter()
        n_ref = len(ref.encode(text, disallowed_special=()))
        t_ref = time.perf_counter() - start
        print(f"count {len(text):,} characters of ossa_hooks/*.py:")
        same = "same count" if n_mine == n_ref else "DIFFERENT"
        print(f"  ossa-hooks {n_mine:,} tokens in {t_mine * 1000:.1f} ms; "
              f"tiktoken {n_ref:,} tokens in {t_ref * 1000:.1f} ms ({same})")
    return 0 if o / t <= TARGET_RATIO and n_mine == n_ref else 1


if __name__ == "__main__":
    raise SystemExit(main())
