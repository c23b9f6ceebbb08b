"""Sharded runs on local Ray against the in-process run with the same shard plan.

A generated corpus of 3,000 dated stories in ≥ 8 shards (one JSONL file cut at line starts, plus
small files packed together). Needs `ray` (CI installs it); skipped without it.
"""
import json
import os
import random
from pathlib import Path

import pytest

import themeshift

ray = pytest.importorskip("ray")
import themeshift.ray  # noqa: E402

OPTIONS = dict(min_df=2, k=5, clusters=4, topics=["nmf", "lda"], lda_iterations=40, keep_tokens=True,
               charts="none", seed=3, shard_mb=0.05)
WORDS = ["能源合作", "天然气", "石油", "贸易", "投资", "一带一路", "互联互通", "金融", "本币结算", "铁路",
         "港口", "会谈", "总统", "联合声明", "战略伙伴", "安全", "地区", "发展", "科技", "农业"]


def corpus(folder: Path) -> Path:
    rng = random.Random(11)
    lines = []
    for i in range(3000):
        year = 2013 + i % 11
        # Each year leans to its own words, so the trends and models have something to find.
        words = [WORDS[(year + rng.randrange(6)) % len(WORDS)] for _ in range(rng.randrange(8, 30))]
        text = "，".join(words) + "。"
        lines.append(json.dumps({"id": f"s{i}", "date": f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                                 "title": f"第{i}条", "text": text}, ensure_ascii=False))
    lines.insert(1234, "{broken")
    folder.mkdir()
    (folder / "stories.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for i in range(5):
        (folder / f"note{i}.txt").write_text(f"2019年5月{i + 1}日\n中俄{WORDS[i]}与{WORDS[i + 5]}。", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ray")
    inputs = corpus(tmp / "in")
    local = themeshift.run([inputs], out=tmp / "local", **OPTIONS)
    # On a Ray already running (as on a cluster) every shard goes to the workers; a Ray the call
    # starts itself has the driver read the first shards while it comes up.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        two = themeshift.ray.run([inputs], out=tmp / "ray2", **OPTIONS)
    finally:
        ray.shutdown()
    one = themeshift.ray.run([inputs], out=tmp / "ray1", num_cpus=1, **OPTIONS)
    return inputs, local, two, one


def untimed(value):
    """A manifest part without its timings, which differ between any two runs."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if "second" not in k}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def tables(run):
    return {p.name: p.read_bytes() for p in sorted(run.path.glob("*.parquet"))}


def test_ray_tables_are_the_in_process_tables_byte_for_byte(runs):
    _, local, two, one = runs
    assert two.manifest["sharding"]["shards"] >= 8
    assert len(tables(local)) >= 15
    assert tables(two) == tables(local)
    assert tables(one) == tables(local), "the number of workers changed a table"
    for key in ("counts", "ingest", "models", "trends", "run_id", "outputs"):
        assert untimed(two.manifest[key]) == untimed(local.manifest[key]), key
    assert local.manifest["counts"]["documents_skipped"] == 1


def test_the_manifest_accounts_for_every_shard(runs):
    _, local, two, _ = runs
    sharding = two.manifest["sharding"]
    assert sharding["engine"] == "ray" and local.manifest["sharding"]["engine"] == "in-process"
    assert sharding["shards"] == local.manifest["sharding"]["shards"] == len(sharding["workers"])
    assert [w["shard"] for w in sharding["workers"]] == list(range(sharding["shards"]))
    assert sum(w["documents"] for w in sharding["workers"]) == two.manifest["counts"]["documents_kept"]
    assert all(w["peak_rss_mib"] > 0 and w["seconds"] > 0 for w in sharding["workers"])
    assert sharding["map_seconds"] > 0


def test_shards_are_read_by_the_workers_or_by_the_driver_while_its_ray_starts(runs):
    _, _, two, one = runs
    driver = f":{os.getpid()}"
    assert not any(w["worker"].endswith(driver) for w in two.manifest["sharding"]["workers"])
    assert two.manifest["sharding"]["driver_shards"] == []
    # The first shard is begun before ray.init is called, and that takes seconds.
    by_driver = [w["shard"] for w in one.manifest["sharding"]["workers"] if w["worker"].endswith(driver)]
    assert by_driver[:1] == [0] and by_driver == one.manifest["sharding"]["driver_shards"]


def test_strict_fails_with_the_in_process_error(runs, tmp_path):
    inputs = runs[0]
    options = dict(OPTIONS, strict=True)
    with pytest.raises(themeshift.InputError) as local:
        themeshift.run([inputs], out=tmp_path / "a", **options)
    with pytest.raises(themeshift.InputError) as sharded:
        themeshift.ray.run([inputs], out=tmp_path / "b", num_cpus=2, **options)
    assert str(sharded.value) == str(local.value) and "stories.jsonl:1235" in str(local.value)
    assert not (tmp_path / "b").exists()


def test_an_unreadable_input_fails_in_the_shard_with_the_cli_message(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "bad.jsonl").write_bytes(b'{"id": "a", "text": "\xff\xfe\x00"}\n')
    with pytest.raises(themeshift.InputError) as local:
        themeshift.run([folder], out=tmp_path / "a", charts="none")
    with pytest.raises(themeshift.InputError) as sharded:
        themeshift.ray.run([folder], out=tmp_path / "b", num_cpus=1, charts="none")
    assert str(sharded.value) == str(local.value) and "bad.jsonl" in str(local.value)


def test_the_first_failing_shard_in_plan_order_is_reported_whoever_fails_first(tmp_path):
    # Two one-file shards, both unreadable: the first fails late in its file, the second at once.
    # The driver reads both side by side while its Ray starts; the error is still the first's.
    folder = tmp_path / "in"
    folder.mkdir()
    good = "".join(json.dumps({"id": f"s{i}", "date": "2020-01-01", "text": "中俄合作" * 50}) + "\n" for i in range(30000))
    (folder / "a.jsonl").write_bytes(good.encode() + b'{"id": "a", "text": "\xff"}\n')
    (folder / "b.jsonl").write_bytes(b'{"id": "b", "text": "\xff"}\n')
    options = dict(charts="none", shard_mb=0.01)
    with pytest.raises(themeshift.InputError) as local:
        themeshift.run([folder], out=tmp_path / "x", **options)
    with pytest.raises(themeshift.InputError) as sharded:
        themeshift.ray.run([folder], out=tmp_path / "y", num_cpus=2, **options)
    assert "a.jsonl" in str(local.value) and str(sharded.value) == str(local.value)
    # On a Ray already running both shards go to the workers, side by side.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        with pytest.raises(themeshift.InputError) as on_workers:
            themeshift.ray.run([folder], out=tmp_path / "z", **options)
    finally:
        ray.shutdown()
    assert str(on_workers.value) == str(local.value)
    assert not (tmp_path / "y").exists() and not (tmp_path / "z").exists()


def test_models_on_workers_names_the_models_or_is_refused(tmp_path):
    assert themeshift.ray._models_on_workers(True) == ["lda", "theme_model", "nmf", "lsa"]
    assert themeshift.ray._models_on_workers(False) == []
    assert themeshift.ray._models_on_workers(["lsa", "lda"]) == ["lda", "lsa"]
    assert themeshift.ray._models_on_workers("nmf") == ["nmf"]
    with pytest.raises(themeshift.ConfigError, match="no model 'kmeans' has shards"):
        themeshift.ray.run([tmp_path], out=tmp_path / "out", models_on_workers=["nmf", "kmeans"])
    assert not (tmp_path / "out").exists()
