"""Fraction of DUC sentences the furniture remover keeps (plain newswire should lose ~nothing)."""
import json, re, sys, time, collections
from bot.text.article_text import clean_body_lines, normalize_text, parse_text_article, furniture_reason, is_prose
DUC = "/work/shared/data/dev/duc2006-topics.jsonl"
SPLIT = re.compile(r"(?<=[.!?])[\"”’')]*\s+(?=[\"“‘(]?[A-Z0-9])")
rows = [json.loads(l) for l in open(DUC)]
total = kept = total_t = kept_t = 0
lost = collections.Counter()
t0 = time.perf_counter()
mode = sys.argv[1] if len(sys.argv) > 1 else "clean"
for r in rows:
    text = normalize_text(r["text"])
    if mode == "parse":
        body = parse_text_article(r["title"] + "\n\n" + r["text"]).body
    else:
        body = "\n".join(clean_body_lines(text.split("\n"), r["title"]))
    for para in text.split("\n"):
        for s in SPLIT.split(para):
            s = s.strip()
            if not s:
                continue
            ok = s in body
            total += 1; kept += ok
            if re.search(r"[.!?][\"”’')]*$", s) and len(s.split()) >= 4:
                total_t += 1; kept_t += ok
                if not ok: lost[s[:150]] += 1
dt = time.perf_counter() - t0
print(f"mode={mode} articles={len(rows)} segments kept {kept}/{total} = {kept/total:.4%}; "
      f"sentences (>=4 words, terminal punct) kept {kept_t}/{total_t} = {kept_t/total_t:.4%}; {dt:.1f}s")
if "-v" in sys.argv:
    for s, c in lost.most_common(60): print(c, s)
