"""A labelled check for clustering: xwlb stories whose titles name a recurring programme or
subject (State Council executive meetings, daily epidemic reports, weather, …), one label each.

    python labelled.py OUT.jsonl CORPUS_DIR

Writes the stories (with a `family` field) and prints how many each family has. Stories whose
title matches two families are left out, so every label is unambiguous.
"""

import glob
import json
import re
import sys

# Title patterns; what they have in common is the subject, not only the wording of the title.
FAMILIES = {
    "epidemic_report": r"国家卫生健康委通报",
    "state_council": r"国务院常务会议",
    "politburo": r"中共中央政治局召开会议",
    "cppcc_forum": r"双周协商座谈会",
    "global_covid": r"全球.*新冠肺炎.*确诊",
    "ukraine": r"乌克兰",
    "decree": r"签署国务院令",
    "reform": r"中央全面深化改革",
    # The NPC Standing Committee as the subject, not as one item of a list of institutions (the
    # Politburo Standing Committee hearing their reports, joint obituaries).
    "npc": r"^(?!.*(政治局|全国人大常委会[、 ]国务院|中共中央 ?全国人大常委会)).*全国人大常委会",
    "qiushi": r"《求是》",
    "who": r"^世卫",
    # 新气象 ("a new look") is a political slogan, not the weather.
    "weather": r"天气|(?<!新)气象|降雨|暴雨|寒潮",
}


def label(title):
    hits = [name for name, pattern in FAMILIES.items() if re.search(pattern, title)]
    return hits[0] if len(hits) == 1 else None


def main(out, corpus):
    counts = {}
    with open(out, "w", encoding="utf-8") as f:
        for path in sorted(glob.glob(f"{corpus}/*.jsonl")):
            for line in open(path, encoding="utf-8"):
                story = json.loads(line)
                family = label(story["title"])
                if family:
                    story["family"] = family
                    counts[family] = counts.get(family, 0) + 1
                    f.write(json.dumps(story, ensure_ascii=False) + "\n")
    print(f"labelled: {sum(counts.values())} stories in {len(counts)} families: {counts}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
