"""Indexing benchmark: the whole real development corpus, cold, ours vs the LangChain baseline.

    python -m benchmarks.indexing [--corpus evals/real/corpus] [--precisions fp32,int8]
                                  [--no-baseline] [--out benchmarks/out/indexing.json]

Each build runs in a fresh process (`--child`), into a fresh temporary index (no vector of an
earlier build reused), with the real model, after the model is loaded (its load is reported
apart). Reported per build: wall time, chunks/s, characters/s, tokens/s, peak memory, the
share of wall time per stage (`rag.stages`: load, clean, chunk, tokenise, embed, BM25, FAISS,
write; "other" is the rest: reconciling, Python between stages), padding (tokens run / tokens
of text), and the embedding's achieved GFLOPS against the machine's GEMM peak, measured here
first (`gemm_peak`), never assumed.

The baseline is `evals.baseline.LangChainBaseline` as a LangChain user writes it
(RecursiveCharacterTextSplitter 500/50 → HuggingFace-style sentence-transformers on PyTorch →
FAISS.from_documents), given the same cleaned text ours indexes; its file loading is not
timed (ours is: the comparison leans against us).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["main", "gemm_peak", "model_flops"]

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "evals" / "real" / "corpus"
GEMM_SIZE = 2048
GEMM_ROUNDS = 6


# ------------------------------------------------------------------ the machine's peak


def _matmul_model(int8: bool) -> bytes:
    from onnx import TensorProto, helper

    if int8:
        node = helper.make_node("MatMulInteger", ["a", "b"], ["c"])
        inputs = [helper.make_tensor_value_info("a", TensorProto.UINT8, ["m", "k"]),
                  helper.make_tensor_value_info("b", TensorProto.INT8, ["k", "n"])]  # fmt: skip
        output = helper.make_tensor_value_info("c", TensorProto.INT32, ["m", "n"])
    else:
        node = helper.make_node("MatMul", ["a", "b"], ["c"])
        inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, ["m", "k"] if x == "a" else ["k", "n"]) for x in "ab"]
        output = helper.make_tensor_value_info("c", TensorProto.FLOAT, ["m", "n"])
    graph = helper.make_graph([node], "gemm", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what onnxruntime reads (the onnx package may write newer)
    return model.SerializeToString()


def _ort_gemm(int8: bool, threads: int, concurrent: int) -> float:
    """GFLOPS (or int8 GOPS) of ONNX Runtime's own GEMM: `concurrent` runs of `threads` threads each."""
    from concurrent.futures import ThreadPoolExecutor

    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(_matmul_model(int8), options, providers=["CPUExecutionProvider"])
    n = GEMM_SIZE
    rng = np.random.default_rng(0)
    if int8:
        feeds = {"a": rng.integers(0, 255, (n, n), dtype=np.uint8), "b": rng.integers(-127, 127, (n, n), dtype=np.int8)}
    else:
        feeds = {"a": rng.random((n, n), dtype=np.float32), "b": rng.random((n, n), dtype=np.float32)}
    session.run(None, feeds)

    def rounds(_: int) -> None:
        for _ in range(GEMM_ROUNDS):
            session.run(None, feeds)

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrent) as pool:
        list(pool.map(rounds, range(concurrent)))
    return concurrent * GEMM_ROUNDS * 2 * n**3 / (time.perf_counter() - start) / 1e9


def _numpy_gemm() -> float:
    a = np.random.default_rng(0).random((GEMM_SIZE, GEMM_SIZE), dtype=np.float32)
    a @ a
    start = time.perf_counter()
    for _ in range(GEMM_ROUNDS):
        a @ a
    return GEMM_ROUNDS * 2 * GEMM_SIZE**3 / (time.perf_counter() - start) / 1e9


def _torch_gemm(dtype_name: str) -> float:
    import torch

    dtype = getattr(torch, dtype_name)
    a = torch.rand(GEMM_SIZE, GEMM_SIZE).to(dtype)
    a @ a
    start = time.perf_counter()
    for _ in range(GEMM_ROUNDS):
        a @ a
    return GEMM_ROUNDS * 2 * GEMM_SIZE**3 / (time.perf_counter() - start) / 1e9


def gemm_peak() -> dict[str, float]:
    """The best GEMM rate this machine reaches, by runtime and layout (2048 x 2048 x 2048)."""
    cores = len(os.sched_getaffinity(0))
    fp32 = {
        "numpy_openblas": _numpy_gemm(),
        f"onnxruntime_{cores}_threads": _ort_gemm(False, cores, 1),
        f"onnxruntime_{cores}x1_thread": _ort_gemm(False, 1, cores),
        "torch": _torch_gemm("float32"),
    }
    int8 = {
        f"onnxruntime_{cores}_threads": _ort_gemm(True, cores, 1),
        f"onnxruntime_{cores}x1_thread": _ort_gemm(True, 1, cores),
    }
    return {"fp32_gflops": max(fp32.values()), "int8_gops": max(int8.values()), "bf16_gflops": _torch_gemm("bfloat16"),
            "fp32": fp32, "int8": int8}  # fmt: skip


# ------------------------------------------------------------------ model arithmetic


def model_flops(config: Any, tokens: int, attention_pairs: int) -> float:
    """Multiply-adds x 2 of a BERT-style encoder over `tokens` token positions, plus attention
    over `attention_pairs` (sum over sequences of width squared)."""
    h, inner, layers = int(config.hidden_size), int(config.intermediate_size), int(config.num_hidden_layers)
    per_token = layers * 2 * (4 * h * h + 2 * h * inner)  # Q, K, V, output projections; the two FFN matrices
    attention = layers * 2 * 2 * h * attention_pairs  # scores Q·K and the weighted sum of V
    return float(per_token * tokens + attention)


# ------------------------------------------------------------------ one build (in its own process)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ours(corpus: Path, precision: str) -> dict[str, Any]:
    from rag.config import Settings
    from rag.index.folder.persist import build_index
    from rag.model.embedder import SentenceTransformerEmbedder
    from rag.stages import counts, reset_stages, stage_seconds

    settings = Settings.from_env(environ={}, precision=precision)
    embedder = SentenceTransformerEmbedder(settings.model, settings.cache_dir, precision=precision)  # type: ignore[arg-type]
    started = time.perf_counter()
    embedder.warm_up()
    if embedder.precision == "bf16":  # passages run on PyTorch: load it now, as the model load is not timed
        embedder._bf16_model()
    load_model = time.perf_counter() - started
    reset_stages()
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as tmp:
        started = time.perf_counter()
        index = build_index([corpus], Path(tmp) / "index", settings=settings, embedder=embedder)
        wall = time.perf_counter() - started
        seconds, tally = stage_seconds(), counts()
        if embedder.precision == "bf16":  # PyTorch embedded the passages: count their tokens now, untimed
            tally.update(_passage_tokens(index, embedder))
    config = embedder.transformer_config
    executed = model_flops(config, tally.get("padded_tokens", 0), tally.get("attention_token_pairs", 0))
    return {
        "system": "ours", "precision": embedder.precision, "device": embedder.device,
        "runtime": "torch (autocast)" if embedder.precision == "bf16" else embedder.runtime,
        "model_load_s": load_model, "wall_s": wall, "reports": len(index.documents), "chunks": len(index.chunks),
        "characters": sum(len(d.text) for d in index.documents.values()),
        "tokens": tally.get("tokens", 0), "padded_tokens": tally.get("padded_tokens", 0),
        "embedded_texts": index.last_summary.embedded if index.last_summary else None,
        "stages_s": seconds, "embed_gflop": executed / 1e9, "peak_rss_mb": _peak_rss_mb(),
    }  # fmt: skip


def _passage_tokens(index: Any, embedder: Any) -> dict[str, int]:
    """Token counts of an index's passages as the model sees them (padding not known: counted as none)."""
    from rag.index.passages import passage_text

    tokenizer = embedder._bf16_model().tokenizer
    texts = [embedder.prompts.passage + passage_text(index.documents[c.doc_id].title, c) for c in index.chunks]
    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=512)["input_ids"]]
    return {"tokens": sum(lengths), "padded_tokens": sum(lengths), "attention_token_pairs": sum(n * n for n in lengths)}


def _baseline(corpus: Path) -> dict[str, Any]:
    from evals.baseline import LangChainBaseline, PlainSentenceTransformer
    from rag.config import DEFAULT_MODEL, Settings
    from rag.ingest.load import load_documents

    documents, _ = load_documents([corpus])
    embedder = PlainSentenceTransformer(DEFAULT_MODEL, Settings.from_env(environ={}).cache_dir)
    started = time.perf_counter()
    model = embedder.warm_up()
    load_model = time.perf_counter() - started
    baseline = LangChainBaseline(embedder)
    started = time.perf_counter()
    baseline.build(documents)
    wall = time.perf_counter() - started
    texts = [baseline._store.docstore.search(i).page_content for i in baseline._store.index_to_docstore_id.values()]  # type: ignore[union-attr]
    lengths = [len(ids) for ids in model.tokenizer(["passage: " + t for t in texts], truncation=True, max_length=512)["input_ids"]]
    config = model[0].auto_model.config
    useful = model_flops(config, sum(lengths), sum(n * n for n in lengths))
    return {
        "system": "langchain-baseline", "precision": "fp32", "runtime": "torch", "device": str(model.device.type),
        "model_load_s": load_model, "wall_s": wall, "reports": len(documents), "chunks": baseline.chunk_count,
        "characters": sum(len(d.text) for d in documents), "tokens": sum(lengths),
        "embed_gflop_useful": useful / 1e9, "peak_rss_mb": _peak_rss_mb(),
    }  # fmt: skip


def _child(spec: str, corpus: Path) -> int:
    system, _, precision = spec.partition(":")
    result = _baseline(corpus) if system == "baseline" else _ours(corpus, precision or "fp32")
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def _run_child(spec: str, corpus: Path) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    env = {k: v for k, v in env.items() if k not in ("POLICYQA_PRECISION", "POLICYQA_RUNTIME", "POLICYQA_MODEL")}
    done = subprocess.run([sys.executable, "-m", "benchmarks.indexing", "--child", spec, "--corpus", str(corpus)],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark child {spec} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


# ------------------------------------------------------------------ sharded indexers into PostgreSQL


def _pg_database(server_url: str, name: str) -> str:
    import re

    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    return re.sub(r"/postgres(\?|$)", rf"/{name}\1", server_url, count=1)


def shards_vs_one(corpus: Path, shards: int, precision: str) -> dict[str, Any]:
    """Wall time of one `policyqa index` into PostgreSQL vs `shards` concurrent `--shard i/n` ones."""
    import pgserver

    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICYQA_") or k == "POLICYQA_CACHE_DIR"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", POLICYQA_PRECISION=precision)
    command = [sys.executable, "-m", "cli", "index", str(corpus)]
    with tempfile.TemporaryDirectory(prefix="policyqa-pg-") as tmp:
        server = pgserver.get_server(Path(tmp) / "data", cleanup_mode="delete")
        try:
            url = server.get_uri()
            one_env = {**env, "POLICYQA_DATABASE_URL": _pg_database(url, "bench_one")}
            started = time.perf_counter()
            subprocess.run(command, env=one_env, cwd=ROOT, check=True, capture_output=True)
            one = time.perf_counter() - started
            many_env = {**env, "POLICYQA_DATABASE_URL": _pg_database(url, "bench_shards")}
            started = time.perf_counter()
            runs = [subprocess.Popen([*command, "--shard", f"{i}/{shards}"], env=many_env, cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for i in range(1, shards + 1)]  # fmt: skip
            if any(run.wait() != 0 for run in runs):
                raise RuntimeError("a sharded indexer failed")
            many = time.perf_counter() - started
        finally:
            server.cleanup()
    return {"corpus": str(corpus), "precision": precision, "one_process_s": one, f"{shards}_shards_s": many,
            "ratio": many / one}  # fmt: skip


# ------------------------------------------------------------------ report


def _derive(result: dict[str, Any], peak: dict[str, float]) -> dict[str, Any]:
    wall = result["wall_s"]
    out = dict(result)
    out["chunks_per_s"] = result["chunks"] / wall
    out["chars_per_s"] = result["characters"] / wall
    if "stages_s" in result:
        stages = dict(result["stages_s"])
        stages["other"] = max(0.0, wall - sum(stages.values()))
        out["stage_share"] = {k: v / wall for k, v in stages.items()}
        embed = stages.get("embed", 0.0)
        out["tokens_per_s_embed"] = result["tokens"] / embed if embed else None
        out["embed_gflops"] = result["embed_gflop"] / embed if embed else None
        out["padding_overhead"] = result["padded_tokens"] / max(result["tokens"], 1) - 1
        reference = {"int8": peak["int8_gops"], "bf16": peak["bf16_gflops"]}.get(result["precision"], peak["fp32_gflops"])
        out["share_of_peak"] = out["embed_gflops"] / reference if embed else None
        out["share_of_fp32_peak"] = out["embed_gflops"] / peak["fp32_gflops"] if embed else None
    else:
        out["embed_gflops_whole_build"] = result["embed_gflop_useful"] / wall
        out["share_of_fp32_peak_whole_build"] = out["embed_gflops_whole_build"] / peak["fp32_gflops"]
    return out


def _table(results: list[dict[str, Any]], peak: dict[str, float]) -> str:
    rows = [
        f"GEMM peak measured here: fp32 {peak['fp32_gflops']:.0f} GFLOPS, bf16 {peak['bf16_gflops']:.0f}, "
        f"int8 {peak['int8_gops']:.0f} GOPS "
        f"(2048³; {', '.join(f'{k} {v:.0f}' for k, v in peak['fp32'].items())})",
        "",
        "| system | precision | wall s | chunks | chunks/s | chars/s | tokens | embed GFLOPS | of peak | padding | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        gflops = r.get("embed_gflops") or r.get("embed_gflops_whole_build")
        share = r.get("share_of_peak") or r.get("share_of_fp32_peak_whole_build")
        padding = f"{r['padding_overhead']:.1%}" if "padding_overhead" in r else "–"
        rows.append(
            f"| {r['system']} | {r['precision']} | {r['wall_s']:.1f} | {r['chunks']} | {r['chunks_per_s']:.1f} | "
            f"{r['chars_per_s']:.0f} | {r['tokens']} | {gflops:.0f} | {share:.0%} | {padding} | {r['peak_rss_mb']:.0f} |"
        )
    baseline = next((r for r in results if r["system"] != "ours"), None)
    for r in results:
        if r["system"] == "ours":
            shares = ", ".join(f"{k} {v:.1%}" for k, v in sorted(r["stage_share"].items(), key=lambda kv: -kv[1]))
            rows.append(f"\nours {r['precision']}: stages {shares}")
            if baseline is not None:
                rows.append(f"ours {r['precision']} / baseline wall time: {r['wall_s'] / baseline['wall_s']:.2f}")
    return "\n".join(rows)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks.indexing", description=__doc__.split("\n")[0])
    p.add_argument("--corpus", type=Path, default=CORPUS)
    p.add_argument("--precisions", default="bf16,fp32,int8")
    p.add_argument("--no-baseline", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "indexing.json")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--pg-shards", type=int, default=0, help="also time N concurrent --shard indexers into PostgreSQL")
    p.add_argument("--pg-corpus", type=Path, default=CORPUS / "provincial-2026", help="the corpus for --pg-shards")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return _child(args.child, args.corpus)
    print("measuring the GEMM peak…", flush=True)
    peak = gemm_peak()
    specs = [f"ours:{p.strip()}" for p in args.precisions.split(",") if p.strip()]
    if not args.no_baseline:
        specs.append("baseline")
    results = []
    for spec in specs:
        print(f"building {spec} over {args.corpus} (cold)…", flush=True)
        results.append(_derive(_run_child(spec, args.corpus), peak))
        print(f"  {results[-1]['wall_s']:.1f} s", flush=True)
    table = _table(results, peak)
    sharded = None
    if args.pg_shards:
        precision = specs[0].partition(":")[2] or "fp32"
        print(f"indexing {args.pg_corpus} into PostgreSQL: one process, then {args.pg_shards} shards…", flush=True)
        sharded = shards_vs_one(args.pg_corpus, args.pg_shards, precision)
        table += (f"\n\nPostgreSQL, {args.pg_corpus.name}, {precision}: one process {sharded['one_process_s']:.1f} s, "
                  f"{args.pg_shards} concurrent shards {sharded[f'{args.pg_shards}_shards_s']:.1f} s "
                  f"(x{sharded['ratio']:.2f})")  # fmt: skip
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": len(os.sched_getaffinity(0)), "platform": platform.platform(), "load_average": os.getloadavg()}
    args.out.write_text(json.dumps({"machine": machine, "gemm_peak": peak, "builds": results, "pg_shards": sharded}, indent=2), encoding="utf-8")
    args.out.with_suffix(".md").write_text(table + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
