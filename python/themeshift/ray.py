"""Sharded runs on Ray: the reading stages as a map over shards on workers, the rest on the driver.

>>> import themeshift.ray
>>> r = themeshift.ray.run(["archive/"], out="reports/archive", shard_mb=64)   # doctest: +SKIP

The shard plan comes from the inputs and ``shard_mb`` only (never from the number of workers), so
a run on any number of workers, and the in-process run (``themeshift.run`` or the CLI with the same
``shard_mb``), read the same shards. Each shard is read, normalized and segmented by a Ray task,
which returns a compact partial (its documents, ingest account and token counts); the driver
joins the partials in shard order and finishes the run — duplicates, vocabulary, TF-IDF, models,
trends, tables, charts, report, manifest — exactly as the in-process run does, so every table is
the same.
A worker that dies is replaced and its shard read again (``max_retries``); a shard with bad input
fails the run with the same error as the CLI (or is skipped and counted under ``skip_bad``).

The texts and tokens stay in the object store; what needs them (the terms' frequencies that
choose the vocabulary, each document's count row and theme hits, evidence sentences, raw counts of
seeds lost to segmentation) is a Ray task per shard that returns only its answer; only
``keep_tokens`` brings texts and tokens to the driver. What is not sharded yet: the models and
trends run on the driver, which therefore holds every document's metadata and the count matrix
(see README, "Sharded runs").
"""
from __future__ import annotations

import functools
import json
import os
import time
from pathlib import Path
from typing import Any, Optional, Sequence, Union

from . import Run, ThemeshiftError, _as_argv, _themeshift

PathLike = Union[str, os.PathLike]


def _map_shard(argv, plan, shard, threads):
    # A worker maps the store's pages of every object it made or read; they are not its memory.
    _forget_store_pages()
    return _themeshift.map_shard(argv, plan, shard, threads)


def _answer_texts(texts, common, request):
    # Runs on a worker: Ray hands it the shard's texts from the object store there.
    _forget_store_pages()
    return _themeshift.answer_texts(texts, common, request)


def _answer_tokens(tokens, common, request):
    # Runs on a worker: Ray hands it the shard's tokens from the object store there.
    _forget_store_pages()
    return _themeshift.answer_tokens(tokens, common, request)


def _forget_store_pages():
    """Drop this process's view of the object-store pages it has read.

    Reading an object maps its pages into the reader, and they stay in its RSS after the object
    is let go (the store reuses them for the next objects): measured, ~0.35 GB in the driver at 8×
    the xwlb corpus. They are the store's memory, not the reader's. On a shared mapping
    MADV_DONTNEED only removes the pages from this process's page tables — their contents stay in
    the store, and a later read maps them again — so it is safe while objects are alive. The maps
    are read on every call: the store may add fallback mappings as it fills. Linux only; elsewhere
    a no-op.
    """
    madvise = _madvise()
    if madvise is None:
        return
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return
    for line in maps:
        fields = line.split(maxsplit=5)
        # Ray's store: a shared mapping of /dev/shm/plasma… (or its fallback files on disk).
        if len(fields) == 6 and fields[1].endswith("s") and "plasma" in fields[5]:
            low, high = (int(a, 16) for a in fields[0].split("-"))
            madvise(low, high - low, _MADV_DONTNEED)


_MADV_DONTNEED = 4


@functools.lru_cache(maxsize=None)
def _madvise():
    """libc's madvise, or None where there is none to call."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        return libc.madvise
    except (OSError, AttributeError):
        return None


def _fetch(ref):
    """An object from the store, with this process's view of the store's pages dropped once read."""
    import ray

    value = ray.get(ref)
    _forget_store_pages()
    return value


def run(inputs: Union[PathLike, Sequence[PathLike]], out: PathLike, *, shard_mb: Optional[float] = None,
        address: Optional[str] = None, num_cpus: Optional[int] = None, cpus_per_shard: int = 1,
        max_retries: int = 3, shards_per_worker: int = 0, **options: Any) -> Run:
    """Run the pipeline on ``inputs`` with the map over shards on Ray; returns a :class:`Run`.

    ``shard_mb``: megabytes of input per shard (default 64, as the CLI's ``--shard-mb``).
    ``address``: a running Ray cluster (``"auto"``, ``"ray://head:10001"``); without it, and
    without a Ray already initialised in this process, a local Ray is started with ``num_cpus``
    and shut down afterwards. ``cpus_per_shard``: CPUs (and threads) each map task uses.
    ``max_retries``: times a shard is read again when its worker dies. ``shards_per_worker``: a
    worker process is replaced after this many shards (0: never), which bounds its memory by one
    shard's at ~1 s of start-up per replacement (a reused worker keeps a little of each shard:
    ~5 MB each, measured). Every other keyword is an option of ``themeshift.run``.
    """
    import ray

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    options = dict(options)
    options.setdefault("quiet", True)
    if shard_mb is not None:
        options["shard_mb"] = shard_mb
    out = Path(out)
    argv = _as_argv(list(inputs), out, options)
    plan = _themeshift.shard_plan(argv)
    n_shards = len(json.loads(plan)["shards"])
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, num_cpus=num_cpus if address is None else None,
                 include_dashboard=False, log_to_driver=False, logging_level="warning")
    try:
        task = ray.remote(num_cpus=cpus_per_shard, max_retries=max_retries, max_calls=shards_per_worker,
                          num_returns=3)(_map_shard)
        start = time.perf_counter()
        plan_ref = ray.put(plan)
        # Only the references of the texts and tokens are kept: a partial leaves the object store
        # once decoded.
        pending, held = [], {"texts": [], "tokens": []}
        for shard in range(n_shards):
            partial, texts, tokens = task.remote(argv, plan_ref, shard, cpus_per_shard)
            pending.append(partial)
            held["texts"].append(texts)
            held["tokens"].append(tokens)
        join = _themeshift.ShardJoin(argv, plan)
        try:
            # Each partial is decoded as it arrives and its bytes let go.
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                partial = _fetch(done[0])
                del done
                join.add(partial)
                del partial
        except ray.exceptions.RayTaskError as error:
            # The shard's own error (an unreadable file), raised as the CLI reports it. The worker's
            # exception class arrives as a copy, so it is matched by name.
            ours = getattr(_themeshift, type(error.cause).__name__, None)
            if isinstance(ours, type) and issubclass(ours, ThemeshiftError):
                raise ours(str(error.cause)) from None
            raise
        map_seconds = time.perf_counter() - start
        account = json.dumps({"engine": "ray", "map_seconds": map_seconds})
        answer = {holding: ray.remote(num_cpus=cpus_per_shard, max_retries=max_retries)(function)
                  for holding, function in (("texts", _answer_texts), ("tokens", _answer_tokens))}

        def ask_shards(holding, common, requests):
            # Every shard asked answers side by side; what is common to all travels once. The
            # driver takes the answers one at a time, in order, each let go before the next.
            common = ray.put(common)
            refs = [answer[holding].remote(held[holding][shard], common, request) for shard, request in requests]
            for i in range(len(refs)):
                ref, refs[i] = refs[i], None
                yield _fetch(ref)

        summary = json.loads(join.finish(account, ask_shards))
    finally:
        if started_here:
            ray.shutdown()
    summary["out"] = str(out)
    return Run(out, summary)
