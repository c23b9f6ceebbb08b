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
choose the vocabulary, each document's theme hits, the trends' sums, evidence sentences, raw counts
of seeds lost to segmentation) is a Ray task per shard that returns only its answer; only
``keep_tokens`` brings texts and tokens to the driver. The sweeps of LDA and of the theme model,
and the documents' side of NMF and of LSA + k-means (rows of the TF-IDF matrix, of W, of the points),
can run on Ray actors that hold their shards (``models_on_workers``). NMF's and LSA's shards are the
plan's: each actor makes its shard's rows of the TF-IDF matrix from the shard's tokens, so a run
whose only models are those two, held away, never gathers the count matrix on the driver. What is
not sharded yet: LDA and the theme model still need the count matrix on the driver, which also
holds every document's metadata (see README, "Sharded runs").
"""
from __future__ import annotations

import functools
import json
import os
import threading
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


class _ModelWorker:
    """A Ray actor holding one model's shards from sweep to sweep (a sampler's tokens, topics and
    document counts; NMF's rows of X and W); the driver sends each sweep only what changed on its
    side (a sampler's rows of the word–topic counts, NMF's H). One class per model (below), so
    that a process's name says whose shards it holds."""

    model = None

    def __init__(self):
        self.shards = _themeshift.ModelShards(self.model)

    def answer(self, common, requests):
        """One answer per request, each its own object (the driver fetches them one at a time)."""
        _forget_store_pages()
        answers = [self.shards.answer(shard, common, request, _fetcher(tokens)) for shard, request, tokens in requests]
        return answers if len(answers) > 1 else answers[0]


class _LdaWorker(_ModelWorker):
    model = "lda"


class _NmfWorker(_ModelWorker):
    model = "nmf"


class _LsaWorker(_ModelWorker):
    model = "lsa"


class _ThemeModelWorker(_ModelWorker):
    model = "theme_model"


_MODELS_AWAY = ("lda", "theme_model", "nmf", "lsa")


def _fetcher(tokens):
    """A function that fetches a shard's tokens from the object store (for LSA and NMF, whose shards
    are the plan's and make their rows from them), or None."""
    if tokens is None:
        return None

    def fetch():
        import ray

        return ray.get(tokens)

    return fetch


# The models whose shards are the plan's: each request carries its shard's tokens (a reference;
# they are fetched only by the request that makes the shard's rows).
_MODELS_ON_PLAN_SHARDS = ("lsa", "nmf")


def _models_on_workers(asked):
    """The models ``models_on_workers`` names (see ``run``), checked."""
    import ray

    if asked is None:
        bigger = ray.cluster_resources().get("CPU", 0) > (os.cpu_count() or 1)
        return list(_MODELS_AWAY) if bigger else []
    if isinstance(asked, bool):
        return list(_MODELS_AWAY) if asked else []
    asked = [asked] if isinstance(asked, str) else list(asked)
    unknown = [m for m in asked if m not in _MODELS_AWAY]
    if unknown:
        raise _themeshift.ConfigError(f"models_on_workers: no model {unknown[0]!r} has shards; "
                                      f"use any of {', '.join(map(repr, _MODELS_AWAY))}, True or False")
    return [m for m in _MODELS_AWAY if m in asked]


class _ModelWorkers:
    """The actors one model's shards are sampled on: shard s on actor s mod the cluster's CPUs,
    each actor made when the first shard it holds is sent (so at most one per CPU, and no more
    than there are shards) — which actor holds a shard does not change the fit. Should an actor
    die, every actor is let go and the call fails; the driver then starts the model's shards
    again from the state it kept (LDA's warm-up, the theme model chain's start, NMF's and LSA's
    start), on new actors. Each model has actors of its own: the models are fitted side by side,
    and one's restart must not take another's shards. The theme model's chains ask side by side too (their
    shards numbered apart, so they spread over the actors): a failure lets go only the actors of
    its own generation, not new ones another chain's restart has made since."""

    def __init__(self, worker):
        import ray

        # No CPU reserved: the shards' other tasks (evidence, counts) may run beside them.
        self.worker = ray.remote(num_cpus=0, max_restarts=0, scheduling_strategy="SPREAD")(worker)
        self.actors = {}
        self.generation = 0
        self.cpus = None
        self.lock = threading.Lock()

    def ask(self, common, requests, tokens=None):
        """The answers to ``requests`` (shard, request), in order; ``tokens``: the plan's shards'
        token references, for a model whose shards are the plan's."""
        import ray

        requests = [(shard, request, tokens[shard] if tokens is not None else None) for shard, request in requests]
        with self.lock:
            if self.cpus is None:
                self.cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            groups = {}
            for shard, request, shard_tokens in requests:
                groups.setdefault(shard % self.cpus, []).append((shard, request, shard_tokens))
            for i in groups:
                if i not in self.actors:
                    self.actors[i] = self.worker.remote()
            actors, generation = dict(self.actors), self.generation
        common = ray.put(common)
        by_shard = {}
        for i, group in groups.items():
            refs = actors[i].answer.options(num_returns=len(group)).remote(common, group)
            by_shard.update(zip((shard for shard, _, _ in group), refs if len(group) > 1 else [refs]))
        return self._answers([by_shard[shard] for shard, _, _ in requests], generation)

    def _answers(self, refs, generation):
        """The answers, in the order asked, fetched one at a time and each let go before the next
        (a shard's part of an Xᵀ product is terms × k: the driver never holds every shard's)."""
        import ray

        try:
            for i in range(len(refs)):
                ref, refs[i] = refs[i], None
                yield _fetch(ref)
        except ray.exceptions.RayActorError:
            # An actor died: its shards are gone, and the others' are let go with them, unless a
            # restart since has made new actors (then this call's actors are already let go).
            with self.lock:
                if self.generation == generation:
                    self.close()
            raise

    def close(self):
        """Let every actor go; the next request makes new ones."""
        import ray

        for actor in self.actors.values():
            ray.kill(actor)
        self.actors = {}
        self.generation += 1


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


class _MapWhileRayStarts:
    """Shards the driver reads, in plan order on all its CPUs, while the local Ray it started comes
    up: that start is mostly waiting (ray.init polls once a second for its raylet; 2–3 s on this
    machine, against ~8 s for the whole in-process run of the xwlb corpus). Each CPU reads shards
    of its own (a shard on one thread each, as the in-process run reads them side by side), so a
    corpus of as many shards as CPUs is read here whole. Once Ray is up no new shard is begun here;
    those under way are finished, and the rest go to the workers. A shard's partial does not depend
    on where or on how many threads it is read.
    """

    def __init__(self, argv, plan, n_shards, threads):
        self._lock = threading.Lock()
        self._stopped = False
        #: Shards begun here: 0 … taken − 1.
        self.taken = 0
        self._mapped, self._errors = [], []
        readers = max(1, min(threads, n_shards))
        self._threads = [threading.Thread(target=self._work, args=(argv, plan, n_shards, max(1, threads // readers)),
                                          daemon=True) for _ in range(readers)]
        for thread in self._threads:
            thread.start()

    def _work(self, argv, plan, n_shards, threads):
        while True:
            with self._lock:
                if self._stopped or self.taken == n_shards or self._errors:
                    return
                shard = self.taken
                self.taken += 1
            try:
                mapped = _themeshift.map_shard(argv, plan, shard, threads)
            except BaseException as error:  # raised in the caller's thread by results()
                with self._lock:
                    self._errors.append((shard, error))
                return
            with self._lock:
                self._mapped.append((shard, mapped))

    def stop(self):
        """Begin no further shard."""
        with self._lock:
            self._stopped = True

    def results(self):
        """(shard, (partial, texts, tokens)) of every shard begun here, in plan order, once the
        last is read; each let go here as it is handed over."""
        for thread in self._threads:
            thread.join()
        # The driver reads no more shards: the normalizer and segmenter kept for the next go.
        _themeshift.forget_reading_tools()
        if self._errors:
            # Every shard before a failed one was begun, so the first failure in plan order is
            # the one an in-process run reports.
            raise min(self._errors, key=lambda failed: failed[0])[1]
        self._mapped.sort(key=lambda mapped: mapped[0])
        while self._mapped:
            yield self._mapped.pop(0)


def _fetch(ref):
    """An object from the store, with this process's view of the store's pages dropped once read."""
    import ray

    value = ray.get(ref)
    _forget_store_pages()
    return value


def run(inputs: Union[PathLike, Sequence[PathLike]], out: PathLike, *, shard_mb: Optional[float] = None,
        address: Optional[str] = None, num_cpus: Optional[int] = None, cpus_per_shard: int = 1,
        max_retries: int = 3, shards_per_worker: int = 0, models_on_workers: Union[None, bool, Sequence[str]] = None,
        **options: Any) -> Run:
    """Run the pipeline on ``inputs`` with the map over shards on Ray; returns a :class:`Run`.

    ``shard_mb``: megabytes of input per shard (default 64, as the CLI's ``--shard-mb``).
    ``address``: a running Ray cluster (``"auto"``, ``"ray://head:10001"``); without it, and
    without a Ray already initialised in this process, a local Ray is started with ``num_cpus``
    (the driver reads the first shards while it comes up) and shut down while the tables are
    written. ``cpus_per_shard``: CPUs (and threads) each map task uses.
    ``max_retries``: times a shard is read again when its worker dies. ``shards_per_worker``: a
    worker process is replaced after this many shards (0: never), which bounds its memory by one
    shard's at ~1 s of start-up per replacement (a reused worker keeps a little of each shard:
    ~5 MB each, measured). ``models_on_workers``: the models whose shards Ray actors hold from step
    to step (the same fits): any of ``"lda"`` and ``"theme_model"`` (their samplers' shards) and
    ``"nmf"`` and ``"lsa"`` (the documents' side: rows of the TF-IDF matrix, of W, of the points);
    ``True`` for all four, ``False`` for none. NMF's and LSA's actors make their shards' rows from
    the shards' tokens, so with both held away (and no sampler) the driver never holds the count
    matrix. By default all four when the cluster has more CPUs than this machine, and none on one
    machine, where the driver fits them faster itself (full corpus, 2 CPUs: LSA 3.3× its time on
    the driver, NMF 2.8×; README, "Sharded runs"); name ``["lsa", "nmf"]`` to bound the driver's
    memory on one machine.
    Every other keyword is an option of ``themeshift.run``.
    """
    import ray

    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    if models_on_workers is not None:
        _models_on_workers(models_on_workers)  # a name that is no model's is refused before any work
    options = dict(options)
    options.setdefault("quiet", True)
    if shard_mb is not None:
        options["shard_mb"] = shard_mb
    out = Path(out)
    argv = _as_argv(list(inputs), out, options)
    plan = _themeshift.shard_plan(argv)
    n_shards = len(json.loads(plan)["shards"])
    start = time.perf_counter()
    started_here = not ray.is_initialized()
    early, stopping = None, []
    if started_here:
        if address is None:
            early = _MapWhileRayStarts(argv, plan, n_shards, num_cpus or os.cpu_count() or 1)
        try:
            ray.init(address=address, num_cpus=num_cpus if address is None else None,
                     include_dashboard=False, log_to_driver=False, logging_level="warning")
        finally:
            if early is not None:
                early.stop()
    try:
        task = ray.remote(num_cpus=cpus_per_shard, max_retries=max_retries, max_calls=shards_per_worker,
                          num_returns=3)(_map_shard)
        plan_ref = ray.put(plan)
        # Only the references of the texts and tokens are kept: a partial leaves the object store
        # once decoded.
        pending, held = {}, {"texts": [None] * n_shards, "tokens": [None] * n_shards}
        # Shards 0 … by_driver − 1 are the driver's (read while Ray started); the rest the workers'.
        by_driver = early.taken if early else 0
        for shard in range(by_driver, n_shards):
            partial, held["texts"][shard], held["tokens"][shard] = task.remote(argv, plan_ref, shard, cpus_per_shard)
            pending[partial] = shard
        join = _themeshift.ShardJoin(argv, plan)
        if early is not None:
            # The shards the driver read while Ray started: their texts and tokens go to the store
            # like a worker's, for the requests of the finish.
            for shard, (partial, texts, tokens) in early.results():
                join.add(partial)
                held["texts"][shard], held["tokens"][shard] = ray.put(texts), ray.put(tokens)
                del partial, texts, tokens
                _forget_store_pages()
        # Each partial is decoded as it arrives and its bytes let go. A shard that fails is the
        # run's error once every shard before it has been read: the first failure in plan order,
        # as an in-process run reports it, whichever worker fails first.
        failed = None
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            shard = pending.pop(done[0])
            try:
                partial = _fetch(done[0])
            except ray.exceptions.RayTaskError as error:
                # Only earlier shards are still awaited, so a later failure is always earlier.
                failed = (shard, error)
                pending = {ref: s for ref, s in pending.items() if s < shard}
                continue
            finally:
                del done
            join.add(partial)
            del partial
        if failed is not None:
            # The shard's own error (an unreadable file), raised as the CLI reports it. The worker's
            # exception class arrives as a copy, so it is matched by name.
            cause = failed[1].cause
            ours = getattr(_themeshift, type(cause).__name__, None)
            if isinstance(ours, type) and issubclass(ours, ThemeshiftError):
                raise ours(str(cause)) from None
            raise failed[1]
        map_seconds = time.perf_counter() - start
        account = json.dumps({"engine": "ray", "map_seconds": map_seconds, "driver_shards": list(range(by_driver)),
                              "models_on_workers": _models_on_workers(models_on_workers)})
        answer = {holding: ray.remote(num_cpus=cpus_per_shard, max_retries=max_retries)(function)
                  for holding, function in (("texts", _answer_texts), ("tokens", _answer_tokens))}

        model_workers = {worker.model: _ModelWorkers(worker) for worker in (_LdaWorker, _NmfWorker, _LsaWorker, _ThemeModelWorker)}

        def ask_shards(holding, common, requests):
            if holding in model_workers:
                tokens = held["tokens"] if holding in _MODELS_ON_PLAN_SHARDS else None
                return model_workers[holding].ask(common, requests, tokens)
            return shards_answer(holding, common, requests)

        def shards_answer(holding, common, requests):
            # Every shard asked answers side by side; what is common to all travels once. The
            # driver takes the answers one at a time, in order, each let go before the next.
            common = ray.put(common)
            refs = [answer[holding].remote(held[holding][shard], common, request) for shard, request in requests]
            for i in range(len(refs)):
                ref, refs[i] = refs[i], None
                yield _fetch(ref)

        def shards_done():
            # Nothing more is asked of the workers: a Ray this call started stops (~1.2 s, mostly
            # waiting for its processes to exit) while the driver writes the tables.
            for workers in model_workers.values():
                workers.close()
            if started_here:
                stopping.append(threading.Thread(target=ray.shutdown))
                stopping[0].start()

        summary = json.loads(join.finish(account, ask_shards, shards_done))
    finally:
        if started_here:
            if stopping:
                stopping[0].join()
            else:
                ray.shutdown()
    summary["out"] = str(out)
    return Run(out, summary)
