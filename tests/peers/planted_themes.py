"""A generated corpus with known theme prevalence, for the theme model's acceptance checks.

Ten years (2013–2022), 300 stories a year, each from source A or B. Five topics, each a
Zipf distribution over its own 40 common two-character words (from jieba's dictionary, so
segmentation keeps them whole): three seeded themes — `rise` (share 0.05 → 0.30), `fall`
(0.30 → 0.05) and `step` (0.05 until 2017, 0.20 from 2018) — and two unseeded background
topics sharing the rest. Stories from source B carry `EFFECT` more of `rise` (taken from the
background), so its effect is known. A story's shares are drawn from Dirichlet(3 · mean);
its 120 tokens from them. One word of `rise` (`late_word`) is used only from 2019 on.

    python planted_themes.py OUT_DIR SEED   (writes corpus.jsonl and themes.toml, prints the truth)
"""

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

YEARS = list(range(2013, 2023))
DOCS_PER_YEAR = 300
TOKENS = 120
WORDS_PER_TOPIC = 40
SEEDS_PER_THEME = 5
EFFECT = 0.08
STEP_YEAR = 2018
LATE_YEAR = 2019
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Truth:
    corpus: Path
    lexicon: Path
    prevalence: dict  # theme → realised mean share per year
    step_theme: str = "step"
    step_year: int = STEP_YEAR
    effect_theme: str = "rise"
    effect_term: str = "source=B"
    effect: float = EFFECT
    late_word: str = ""
    late_year: int = LATE_YEAR


def common_words(n, rng):
    """n frequent two-character words of jieba's dictionary, none a stopword of ours."""
    import jieba

    stop = set()
    for f in (ROOT / "data/stopwords").glob("*.txt"):
        stop |= {line.strip() for line in f.read_text().splitlines() if line.strip() and not line.startswith("#")}
    words = []
    with open(jieba.get_dict_file().name, encoding="utf-8") as f:
        for line in f:
            word, freq, *_ = line.split()
            if len(word) == 2 and int(freq) > 3000 and word not in stop and all("\u4e00" <= c <= "\u9fff" for c in word):
                words.append(word)
    words = sorted(set(words))
    return list(rng.choice(words, size=n, replace=False))


def mean_shares(year, source):
    t = (year - YEARS[0]) / (YEARS[-1] - YEARS[0])
    rise, fall = 0.05 + 0.25 * t, 0.30 - 0.25 * t
    step = 0.20 if year >= STEP_YEAR else 0.05
    if source == "B":
        rise += EFFECT
    rest = 1.0 - rise - fall - step
    return np.array([rise, fall, step, rest / 2, rest / 2])


def write(out, seed):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    words = common_words(5 * WORDS_PER_TOPIC, rng)
    topics = [words[i * WORDS_PER_TOPIC:(i + 1) * WORDS_PER_TOPIC] for i in range(5)]
    zipf = 1.0 / np.arange(1, WORDS_PER_TOPIC + 1)
    late_word = topics[0][SEEDS_PER_THEME + 2]
    names = ["rise", "fall", "step"]
    realised = {n: [] for n in names}
    with open(out / "corpus.jsonl", "w", encoding="utf-8") as f:
        for year in YEARS:
            shares = []
            for i in range(DOCS_PER_YEAR):
                source = "A" if i % 2 == 0 else "B"
                theta = rng.dirichlet(3.0 * mean_shares(year, source))
                shares.append(theta)
                z = rng.choice(5, size=TOKENS, p=theta)
                tokens = []
                for k in z:
                    p = zipf.copy()
                    if k == 0 and year < LATE_YEAR:
                        p[topics[0].index(late_word)] = 0.0
                    tokens.append(topics[k][rng.choice(WORDS_PER_TOPIC, p=p / p.sum())])
                sentences = ["，".join(tokens[j:j + 12]) + "。" for j in range(0, TOKENS, 12)]
                f.write(json.dumps({"id": f"{year}-{i:04d}", "date": f"{year}-06-15", "title": f"报道{year}{i}",
                                    "source": source, "text": "".join(sentences)}, ensure_ascii=False) + "\n")
            mean = np.mean(shares, axis=0)
            for k, n in enumerate(names):
                realised[n].append(float(mean[k]))
    lexicon = out / "themes.toml"
    lexicon.write_text("".join(
        f'[{n}]\nlabel = "{n}"\nterms = [{", ".join(json.dumps(w, ensure_ascii=False) for w in topics[k][:SEEDS_PER_THEME])}]\n\n'
        for k, n in enumerate(names)), encoding="utf-8")
    return Truth(corpus=out / "corpus.jsonl", lexicon=lexicon, prevalence=realised, late_word=late_word)


if __name__ == "__main__":
    truth = write(sys.argv[1], int(sys.argv[2]))
    print(truth)
