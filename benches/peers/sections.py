"""BENCHMARKS.md is written by several scripts: harness.py writes the file, and each side study (the LDA sweep,
NMF over seeds, sharded runs) owns one `## ` section of it, which the others keep when they regenerate."""
import pathlib
import re

#: The LDA sweep's section for each corpus it runs on.
SWEEP_SECTIONS = {"full": "LDA sweep: full corpus", "russia": "LDA sweep: China–Russia subset"}
#: The sections that scripts other than harness.py write.
OWN_SECTIONS = [*SWEEP_SECTIONS.values(), "NMF over seeds", "Sharded runs on Ray", "Sharded runs on Ray without models",
                "Sharded runs on Ray, clusters on the workers",
                "Models on Ray actors"]


def _pattern(title):
    return re.compile(r"\n## " + re.escape(title) + r"\n.*?(?=\n## |\Z)", flags=re.S)


def kept_sections(text):
    """The side studies' sections of a previous BENCHMARKS.md, to append to a regenerated one."""
    found = [m.group(0) for title in OWN_SECTIONS for m in [_pattern(title).search(text)] if m]
    return "".join(found)


def replace_section(path, title, section):
    """Put `section` (starting with `## title`) into the file at `path`, replacing its previous version."""
    assert title in OWN_SECTIONS and section.startswith(f"## {title}\n")
    path = pathlib.Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    text = _pattern(title).sub("", text).rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    path.write_text(text, encoding="utf-8")
