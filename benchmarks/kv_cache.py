"""How much does the key/value cache save? Greedy decoding with and without it, in the reference.

    python benchmarks/kv_cache.py              # 3+3 layers, D=256, H=4, F=1024, V=1000, batch 4 x 32 tokens
    python benchmarks/kv_cache.py --quick      # small sizes, a few seconds
    python benchmarks/kv_cache.py --threads 1  # steadier figures on a shared machine

It builds one float32 model with ``course.params.init_transformer`` and times, for 16, 32, 64 and 128
new tokens, the reference ``greedy_decode`` of exercise 12 (which runs the decoder on the whole
prefix at every step) against the reference ``cached_greedy_decode`` of exercise 13 (which runs it
on the one new position, reading the earlier keys and values from the cache). It checks that both
write exactly the same tokens, then prints the time per length, each method's growth when the
length doubles (about 4x for the uncached decoder, whose step t costs O(t); about 2x for the cached
one, whose step costs O(1) apart from attention over the cache) and the speed-up.

The model is forced to run every step: ``b_out[eos_id]`` is set to -1e4, so no row ever finishes
early (otherwise a random model stops at a random length and the lengths would not be comparable).
``b_out[pad_id]`` is set to -1e4 as well: a ``pad_id`` written by an unfinished row is masked by
``greedy_decode`` at later steps but is a real token to a cached step, so the two decoders agree
only when padding never wins the arg-max.

Timings are interleaved (uncached, cached, uncached, ...) and the median of ``--repeats`` runs is
reported, in wall-clock and process CPU time (the steadier figure on a loaded machine, so the
growth per doubling and the fitted exponent use it). The figures go to
``benchmarks/results/kv_cache.json`` (``kv_cache_quick.json`` with ``--quick``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: find the course

from course.info import ROOT
from course.params import TransformerConfig, TransformerParams, init_transformer
from solutions import ex12_transformer, ex13_kv_cache

RESULTS = ROOT / "benchmarks" / "results"


@dataclass
class Sizes:
    layers: int
    d_model: int
    heads: int
    d_ff: int
    vocab: int
    batch: int
    src_len: int
    lengths: tuple[int, ...]


BASE = Sizes(layers=3, d_model=256, heads=4, d_ff=1024, vocab=1000, batch=4, src_len=32,
             lengths=(16, 32, 64, 128))
QUICK = Sizes(layers=2, d_model=64, heads=4, d_ff=256, vocab=200, batch=2, src_len=8, lengths=(8, 16, 32))


def never_stops(params: TransformerParams) -> TransformerParams:
    """The model with eos and padding never winning the arg-max: every row runs every step."""
    c = params.config
    b_out = params.b_out.copy()
    b_out[[c.eos_id, c.pad_id]] = -1e4
    return replace(params, b_out=b_out)


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and process CPU seconds of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def blas_limits(threads: int | None):
    """A context limiting numpy's BLAS threads (needs threadpoolctl), or nothing."""
    if threads is None:
        return nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed: --threads ignored (set OPENBLAS_NUM_THREADS instead)")
        return nullcontext()
    return threadpool_limits(limits=threads, user_api="blas")


def blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (no threadpoolctl)"
    return ", ".join(f"{d['internal_api']} {d['num_threads']}" for d in threadpool_info()
                     if d["user_api"] == "blas") or "unknown"


def main(argv: list[str] | None = None) -> dict[str, object]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of a few seconds")
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads (default: numpy's current setting); 1 gives steadier figures")
    ap.add_argument("--repeats", type=int, default=None, help="timed runs per length and method "
                    "(default 3, quick 2)")
    ap.add_argument("--lengths", type=int, nargs="+", default=None,
                    help="numbers of new tokens to time (default 16 32 64 128)")
    ap.add_argument("--out", type=Path, default=None, help="where to write the JSON figures")
    args = ap.parse_args(argv)

    s = replace(QUICK if args.quick else BASE)
    if args.lengths:
        s.lengths = tuple(sorted(args.lengths))
    repeats = args.repeats or (2 if args.quick else 3)
    out_path = args.out or RESULTS / ("kv_cache_quick.json" if args.quick else "kv_cache.json")
    with blas_limits(args.threads):
        return run(s, repeats, out_path, argv)


def run(s: Sizes, repeats: int, out_path: Path, argv: list[str] | None) -> dict[str, object]:
    print(f"numpy {np.__version__}, python {platform.python_version()}, {os.cpu_count()} logical cores, "
          f"BLAS threads: {blas_threads()}, load average {os.getloadavg()[0]:.2f}")
    config = TransformerConfig(src_vocab=s.vocab, tgt_vocab=s.vocab, d_model=s.d_model, num_heads=s.heads,
                               d_ff=s.d_ff, num_layers=s.layers)
    params = never_stops(init_transformer(np.random.default_rng(0), config, np.float32, random_bias=True))
    src = np.random.default_rng(1).integers(3, s.vocab, size=(s.batch, s.src_len))  # no source padding
    print(f"model: {s.layers}+{s.layers} layers, D={s.d_model}, H={s.heads}, F={s.d_ff}, V={s.vocab}, "
          f"float32; batch {s.batch} x {s.src_len} source tokens; b_out[eos_id] = b_out[pad_id] = -1e4 "
          f"so that no row stops early")
    for fn in METHODS.values():  # warm up
        fn(src, params, 2)
    rows = [time_length(src, params, n, repeats) for n in s.lengths]
    print_table(rows, s.batch, repeats)
    summary = summarise(rows, s.batch)
    figures = {
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sizes": asdict(s), "dtype": "float32", "repeats": repeats,
        "machine": {"logical_cores": os.cpu_count(), "load_average": os.getloadavg(),
                    "numpy": np.__version__, "blas_threads": blas_threads()},
        "rows": rows, **summary,
        "same_tokens": all(r["same_tokens"] for r in rows),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(figures, indent=2) + "\n")
    shown = out_path.relative_to(ROOT) if out_path.is_relative_to(ROOT) else out_path
    print(f"figures in {shown}")
    return figures


METHODS = {
    "greedy_decode (no cache)": ex12_transformer.greedy_decode,
    "cached_greedy_decode": ex13_kv_cache.cached_greedy_decode,
}


def time_length(src: np.ndarray, params: TransformerParams, n: int, repeats: int) -> dict[str, Any]:
    """The medians of both methods writing ``n`` new tokens, interleaved, and whether they agree."""
    times = {name: {"wall": [], "cpu": []} for name in METHODS}
    tokens = {}
    for _ in range(repeats):
        for name, fn in METHODS.items():
            wall, cpu, out = timed(lambda fn=fn: fn(src, params, n))
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
            tokens[name] = out
    plain, cached = (tokens[name] for name in METHODS)
    same = bool(np.array_equal(plain, cached))
    if plain.shape != (src.shape[0], n + 1):
        raise SystemExit(f"greedy_decode stopped early ({plain.shape}): the lengths would not compare")
    if not same:
        first = int(np.argmax((plain != cached).any(axis=0)))
        print(f"WARNING: the tokens differ at {n} new tokens, first in column {first}")
    return {"new_tokens": n, "same_tokens": same,
            **{f"{key}_{kind}": statistics.median(times[name][kind])
               for key, name in zip(("uncached", "cached"), METHODS, strict=True)
               for kind in ("wall", "cpu")}}


def print_table(rows: list[dict[str, Any]], batch: int, repeats: int) -> None:
    print(f"\ngreedy decoding of batch {batch}, median of {repeats} interleaved runs: wall seconds "
          f"(CPU seconds);\n'x2' is the growth of the CPU time from the length before "
          f"(about 4 = quadratic, 2 = linear)")
    print(f"{'new tokens':>10} | {'no cache':>17} {'x2':>5} | {'cached':>17} {'x2':>5} | {'speed-up':>8} | "
          f"{'same tokens':>11}")
    print("-" * 86)
    for i, r in enumerate(rows):
        grow = {k: (f"{r[f'{k}_cpu'] / rows[i - 1][f'{k}_cpu']:5.2f}" if i else f"{'':>5}")
                for k in ("uncached", "cached")}
        print(f"{r['new_tokens']:>10} | {r['uncached_wall']:7.3f} s ({r['uncached_cpu']:6.3f}) "
              f"{grow['uncached']} | {r['cached_wall']:7.3f} s ({r['cached_cpu']:6.3f}) {grow['cached']} | "
              f"{r['uncached_wall'] / r['cached_wall']:7.1f}x | {r['same_tokens']!s:>11}")


def summarise(rows: list[dict[str, Any]], batch: int) -> dict[str, object]:
    """How the time grows with the length, and the cache's speed-up at the longest; printed too."""
    last, first = rows[-1], rows[0]
    span = math.log(last["new_tokens"] / first["new_tokens"])
    exponent = {k: math.log(last[f"{k}_cpu"] / first[f"{k}_cpu"]) / span for k in ("uncached", "cached")}
    speedup = last["uncached_wall"] / last["cached_wall"]
    speedup_cpu = last["uncached_cpu"] / last["cached_cpu"]
    print(f"\nCPU time ~ length^k from {first['new_tokens']} to {last['new_tokens']} new tokens: "
          f"no cache k = {exponent['uncached']:.2f}, cached k = {exponent['cached']:.2f}")
    print(f"speed-up of the cache at {last['new_tokens']} new tokens: {speedup:.1f}x wall "
          f"({speedup_cpu:.1f}x CPU time); {last['new_tokens'] * batch / last['cached_wall']:.0f} tokens/s "
          f"cached against {last['new_tokens'] * batch / last['uncached_wall']:.0f} without; identical "
          f"tokens at every length: {all(r['same_tokens'] for r in rows)}")
    return {"length_exponent": exponent, "speedup_wall": speedup, "speedup_cpu": speedup_cpu}

if __name__ == "__main__":
    main()
