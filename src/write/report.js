// themeshift report.html: draws every section from the JSON in #data. No libraries, no network.
"use strict";
const errors = [];
window.addEventListener("error", (e) => { errors.push(String(e.message)); document.body.dataset.errors = errors.join(" | "); });

const D = JSON.parse(document.getElementById("data").textContent);
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v); else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
  return node;
}
function sv(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  for (const c of children) node.append(c);
  return node;
}
const num = (v, digits = 0) => v === null || v === undefined ? "—" : Number(v).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const pct = (v, digits = 1) => v === null || v === undefined ? "—" : (100 * v).toFixed(digits) + "%";
const table = (head, rows, numeric = []) => el("table", {},
  el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { class: numeric.includes(i) ? "num" : "" }, h)))),
  el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) => el("td", { class: numeric.includes(i) ? "num" : "" }, c))))));
const section = (id, title, ...body) => el("section", { id }, el("h2", {}, title), ...body);
const periodsOf = () => (D.periods || []).map((p) => p.period);

// A small line with its interval band: values, lows and highs per period (nulls skipped).
function sparkline(values, lows, highs, w = 140, h = 30) {
  const all = values.concat(lows || [], highs || []).filter((v) => v !== null);
  const top = Math.max(1e-12, ...all), n = values.length;
  const x = (i) => 2 + (n > 1 ? (i * (w - 4)) / (n - 1) : (w - 4) / 2), y = (v) => h - 2 - ((h - 4) * v) / top;
  const s = sv("svg", { viewBox: `0 0 ${w} ${h}`, width: w, height: h, class: "spark" });
  if (lows && highs && lows.every((v) => v !== null)) {
    const band = values.map((_, i) => `${x(i)},${y(highs[i])}`).concat(values.map((_, i) => `${x(n - 1 - i)},${y(lows[n - 1 - i])}`));
    s.append(sv("polygon", { points: band.join(" "), fill: "#1f77b433" }));
  }
  s.append(sv("polyline", { points: values.map((v, i) => `${x(i)},${y(v || 0)}`).join(" "), fill: "none", stroke: "#1f77b4", "stroke-width": 1.6 }));
  return s;
}

// An axis top and tick step of 1, 2 or 5 × 10ⁿ with four to eight ticks.
function niceScale(max) {
  const raw = max / 5, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return [Math.ceil(max / step) * step, step];
}

function overview() {
  const m = D.manifest, c = m.counts || {};
  const cards = [["records read", c.records_read], ["documents kept", c.documents_kept], ["skipped", c.documents_skipped],
    ["undated", c.documents_undated], ["duplicates", c.documents_duplicate], ["analysed", c.documents_analysed],
    ["periods", c.periods], ["tokens", c.tokens], ["vocabulary", c.vocabulary]];
  const body = [el("div", { class: "cards" }, cards.map(([k, v]) => el("div", { class: "card" }, el("b", {}, num(v)), el("span", {}, k))))];
  const skipped = Object.entries(m.skipped || {});
  if (skipped.length) body.push(el("h3", {}, "Skipped records by reason"), table(["reason", "records"], skipped, [1]));
  const sources = Object.entries(m.date_sources || {});
  if (sources.length) body.push(el("p", { class: "muted" }, "Dates from: " + sources.map(([k, v]) => `${k} ${num(v)}`).join(", ") + `; ${num(m.inputs)} input file(s); seed ${m.seed}; themeshift ${m.version}.`));
  for (const note of m.adjustments || []) body.push(el("p", { class: "muted" }, "Note: " + note));
  return section("overview", "Overview and accounting", ...body);
}

function periods() {
  const rows = (D.periods || []).map((p) => [p.period, num(p.n_docs), num(p.n_tokens), p.underpowered ? "under-powered" : ""]);
  return section("periods", "Periods and their denominators", table(["period", "documents", "tokens", ""], rows, [1, 2]));
}

// Theme shares over time: one line and band per theme, hover for values and intervals, click the legend to toggle.
// A line chart of shares per period with bands, a legend that toggles lines, a hover tooltip and
// the series' trend tests: the lexicon themes and the theme model share it.
function shareChart({ id, title, rows, stats, note, axis }) {
  const ps = periodsOf();
  const byTheme = new Map();
  for (const r of rows || []) {
    if (!byTheme.has(r.theme)) byTheme.set(r.theme, { label: r.label, cells: {} });
    byTheme.get(r.theme).cells[r.period] = r;
  }
  const list = [...byTheme.entries()].map(([theme, t], i) => ({ theme, label: t.label, colour: COLOURS[i % COLOURS.length], on: true,
    cells: ps.map((p) => t.cells[p] || { share: null, share_low: null, share_high: null }) }));
  if (!list.length || !ps.length) return section(id, title, el("p", { class: "muted" }, "No themes or no dated periods in this run."));
  const W = 1100, H = 380, L = 56, R = 16, T = 14, B = 40;
  const x = (i) => L + (ps.length > 1 ? (i * (W - L - R)) / (ps.length - 1) : (W - L - R) / 2);
  const svg = sv("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  const layer = sv("g"), guide = sv("line", { y1: T, y2: H - B, stroke: "#888", "stroke-dasharray": "3 3", visibility: "hidden" });
  const tip = el("div", { class: "tooltip" });
  function draw() {
    layer.replaceChildren();
    const visible = list.filter((t) => t.on);
    const [top, step] = niceScale(Math.max(1e-9, ...visible.flatMap((t) => t.cells.map((c) => c.share_high ?? c.share ?? 0))));
    const y = (v) => H - B - ((H - T - B) * v) / top;
    for (let v = 0; v <= top + step / 2; v += step) {
      layer.append(sv("line", { x1: L, x2: W - R, y1: y(v), y2: y(v), stroke: "#eee" }), sv("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", "font-size": 12, fill: "#555" }, +(100 * v).toFixed(1) + "%"));
    }
    const every = Math.max(1, Math.ceil(ps.length / 14));
    ps.forEach((p, i) => { if (i % every === 0 || i === ps.length - 1) layer.append(sv("text", { x: x(i), y: H - B + 18, "text-anchor": "middle", "font-size": 12, fill: "#555" }, p)); });
    layer.append(sv("text", { x: 14, y: T + (H - T - B) / 2, transform: `rotate(-90 14 ${T + (H - T - B) / 2})`, "text-anchor": "middle", "font-size": 12, fill: "#555" }, axis));
    for (const t of visible) {
      const ok = t.cells.map((c, i) => [i, c]).filter(([, c]) => c.share !== null);
      if (ok.every(([, c]) => c.share_low !== null && c.share_high !== null) && ok.length > 1) {
        const band = ok.map(([i, c]) => `${x(i)},${y(c.share_high)}`).concat(ok.slice().reverse().map(([i, c]) => `${x(i)},${y(c.share_low)}`));
        layer.append(sv("polygon", { points: band.join(" "), fill: t.colour, "fill-opacity": 0.12 }));
      }
      layer.append(sv("polyline", { points: ok.map(([i, c]) => `${x(i)},${y(c.share)}`).join(" "), fill: "none", stroke: t.colour, "stroke-width": 2.2 }));
      for (const [i, c] of ok) layer.append(sv("circle", { cx: x(i), cy: y(c.share), r: 3, fill: t.colour }));
    }
  }
  const overlay = sv("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "transparent", class: "hover" });
  overlay.addEventListener("mousemove", (e) => {
    const box = svg.getBoundingClientRect(), scale = W / box.width;
    const vx = (e.clientX - box.left) * scale;
    const i = Math.max(0, Math.min(ps.length - 1, Math.round(ps.length > 1 ? ((vx - L) * (ps.length - 1)) / (W - L - R) : 0)));
    guide.setAttribute("x1", x(i)); guide.setAttribute("x2", x(i)); guide.setAttribute("visibility", "visible");
    const rows = list.filter((t) => t.on).map((t) => {
      const c = t.cells[i];
      return el("tr", {}, el("td", {}, el("span", { class: "swatch", style: `background:${t.colour};display:inline-block;width:10px;height:10px;margin-right:4px` }), t.label),
        el("td", { class: "num" }, pct(c.share)), el("td", { class: "num muted" }, c.share_low === null ? "" : `[${pct(c.share_low)} – ${pct(c.share_high)}]`));
    });
    tip.replaceChildren(el("b", {}, ps[i]), el("table", {}, rows));
    tip.style.display = "block";
    const px = (x(i) / W) * box.width;
    tip.style.left = (px > box.width * 0.6 ? px - tip.offsetWidth - 12 : px + 12) + "px";
    tip.style.top = "8px";
  });
  overlay.addEventListener("mouseleave", () => { tip.style.display = "none"; guide.setAttribute("visibility", "hidden"); });
  svg.append(layer, guide, overlay);
  draw();
  const legend = el("div", { class: "legend" }, list.map((t) => {
    const item = el("label", { title: "show or hide" }, el("span", { class: "swatch", style: `background:${t.colour}` }), t.label);
    item.addEventListener("click", () => { t.on = !t.on; item.classList.toggle("off", !t.on); draw(); });
    return item;
  }));
  const tests = (stats || []).map((s) => [s.label || s.theme, s.direction, num(s.sen_slope, 4), num(s.mk_p, 3), s.peak_period || "", (s.change_points || []).join(", ")]);
  return section(id, title, el("p", { class: "muted" }, note), legend, el("div", { class: "chart" }, svg, tip),
    el("h3", {}, "Trend tests"), table(["theme", "direction", "Sen slope", "Mann–Kendall p", "peak", "change points"], tests, [2, 3]));
}

function themes() {
  return shareChart({ id: "themes", title: "Theme shares over time", rows: D.themes, stats: D.theme_stats, axis: "主题份额 share of theme hits",
    note: "Each theme's share of all theme-term hits per period, with 95% bootstrap intervals. Hover for values; click a theme to hide or show it." });
}

// The keyword-assisted theme model: prevalence with credible bands, and the words it found beside the seeds.
function themeModel() {
  const M = D.theme_model;
  if (!M) return null;
  const chart = shareChart({ id: "theme-model", title: "Themes measured by the model", rows: M.prevalence, stats: M.stats, axis: "平均文档份额 mean document share",
    note: "Keyword-assisted topics (keyATM) seeded by the lexicons: each theme's mean share of the period's documents, with 95% credible intervals over the posterior draws. Hover for values; click a theme to hide or show it." });
  // Several chains: the lowest correlation between two chains' prevalence of each theme, and the
  // themes the run judged unsettled by it.
  const fit = (((D.manifest.models || {}).theme_model || {}).fit || {});
  const agree = fit.agreement_across_chains || {};
  const chains = M.words.some((w) => agree[w.name] != null);
  const words = M.words.map((w) => [w.label, ...(chains ? [num(agree[w.name], 2)] : []), w.seeds.join(" "), w.found.join(" ")]);
  const unsettled = M.words.filter((w) => (fit.unsettled_themes || []).includes(w.name)).map((w) => w.label);
  chart.append(el("h3", {}, "Words of each theme"),
    table(["theme", ...(chains ? ["chains agree"] : []), "seeds among its top words", "found beside the seeds (by relevance)"], words, chains ? [1] : []),
    ...(unsettled.length ? [el("p", { class: "muted" }, `The model's chains disagree on how ${unsettled.join(", ")} moved (r < ${fit.unsettled_below} between two chains' prevalence): their seeds do not pin them to one subject in this corpus; their intervals include that disagreement.`)] : []),
    ...seedDocuments(fit, M.words),
    el("p", { class: "muted" }, "Each theme's words per period, from that period's tokens only, are in theme_words_by_period.parquet; themeshift effects RUN --formula \"period + source\" regresses the shares on time and covariates."));
  return chart;
}

// Each theme's seed documents (its seeds 3+ times) that the model gives mostly to other topics, and those topics.
function seedDocuments(fit, words) {
  const fared = fit.seed_documents || {};
  const rows = words.filter((w) => (fared[w.name] || {}).documents > 0).map((w) => {
    const s = fared[w.name];
    const takers = s.taken_by.map((t) => `${t.label} (${t.words.join(" ")}): ${t.documents}`).join("; ");
    return [w.label, String(s.documents), `${s.taken_elsewhere} (${Math.round((100 * s.taken_elsewhere) / s.documents)}%)`, takers || "—"];
  });
  if (!rows.length) return [];
  return [el("h3", {}, "Seed documents given elsewhere"),
    el("p", { class: "muted" }, `Documents with a theme's seeds ${fit.seed_document_hits} or more times that the model gives mostly to other topics (the theme's share under ${Math.round(100 * fit.taken_below_share)}%). Many means a seed also marks another subject, or a free topic holds part of the theme: read the takers' words, and sharpen the seeds or merge the topic in.`),
    table(["theme", "seed documents", "given elsewhere", "mostly to (top words): documents"], rows, [1, 2])];
}

// Sentences with the term highlighted by the stored character offsets.
function highlighted(sentence, start, end) {
  const chars = Array.from(sentence || "");
  return el("span", {}, chars.slice(0, start).join(""), el("mark", {}, chars.slice(start, end).join("")), chars.slice(end).join(""));
}
function evidenceFor(kind, key) {
  const items = (D.evidence || []).filter((e) => e.kind === kind && e.key === key).sort((a, b) => (b.period > a.period ? 1 : -1)).slice(0, 4);
  if (!items.length) return null;
  return el("details", {}, el("summary", {}, `${items.length} sentence(s)`),
    el("ul", { class: "evidence" }, items.map((e) => el("li", {}, highlighted(e.sentence, e.start, e.end), el("span", { class: "muted small" }, ` — ${e.date || e.period}, ${e.doc_id}`)))));
}

function terms() {
  const stats = new Map((D.term_stats || []).map((s) => [s.term, s]));
  const series = D.term_series || {};
  const ps = periodsOf();
  const block = (direction, title) => {
    const names = (D.term_lists || {})[direction] || [];
    if (!names.length) return [el("h3", {}, title), el("p", { class: "muted" }, "None at q < 0.05 (too few periods or no significant trend).")];
    const rows = names.map((t) => {
      const s = stats.get(t) || {}, cells = new Map((series[t] || []).map((r) => [r[0], r]));
      const get = (j) => ps.map((p) => (cells.get(p) || [])[j] ?? null);
      return [t, sparkline(get(1), get(2), get(3)), num(s.sen_slope, 3), num(s.mk_q, 4), s.peak_period || "", (s.change_points || []).join(", "), evidenceFor("term", t) || ""];
    });
    return [el("h3", {}, title), table(["term", "per 10k tokens", "Sen slope", "q", "peak", "change points", "evidence"], rows, [2, 3])];
  };
  return section("terms", "Emerging and fading terms",
    el("p", { class: "muted" }, "Mann–Kendall trend of the rate per 10k tokens, Benjamini–Hochberg q < 0.05, steepest Sen slope first; the band is the 95% bootstrap interval."),
    ...block("rising", "Emerging"), ...block("falling", "Fading"));
}

// Keyness of any two periods from the term × period counts: signed G² (no correction) and log ratio.
function keyness() {
  const K = D.term_counts;
  if (!K || !K.periods || K.periods.length < 2) return section("keyness", "Keyness explorer", el("p", { class: "muted" }, "Needs at least two periods."));
  const pick = (initial) => el("select", {}, K.periods.map((p, i) => { const o = el("option", { value: i }, p); if (i === initial) o.selected = true; return o; }));
  const a = pick(0), b = pick(K.periods.length - 1), out = el("div", { class: "two" });
  const g2 = (x, y, tx, ty) => {
    const n = tx + ty, e1 = (tx * (x + y)) / n, e2 = (ty * (x + y)) / n;
    const t = (o, e) => (o > 0 ? o * Math.log(o / e) : 0);
    const v = 2 * (t(x, e1) + t(y, e2) + t(tx - x, tx - e1) + t(ty - y, ty - e2));
    return x / tx >= y / ty ? v : -v;
  };
  function update() {
    const i = +a.value, j = +b.value, ti = K.totals[i], tj = K.totals[j];
    if (i === j || !ti || !tj) { out.replaceChildren(el("p", { class: "muted" }, "Choose two different periods with tokens.")); return; }
    const rows = K.terms.map((t, r) => {
      const x = K.counts[r][i], y = K.counts[r][j];
      return { t, x, y, g: g2(x, y, ti, tj), lr: Math.log2(((x || 0.5) / ti) / ((y || 0.5) / tj)) };
    }).filter((r) => r.x + r.y >= 5);
    const side = (list, title) => el("div", {}, el("h3", {}, title),
      table(["term", "G²", "log₂ ratio", K.periods[i], K.periods[j]], list.slice(0, 20).map((r) => [r.t, num(Math.abs(r.g), 1), num(r.lr, 2), num(r.x), num(r.y)]), [1, 2, 3, 4]));
    rows.sort((p, q) => q.g - p.g);
    out.replaceChildren(side(rows.filter((r) => r.g > 3.84), `More used in ${K.periods[i]}`), side(rows.filter((r) => r.g < -3.84).reverse(), `More used in ${K.periods[j]}`));
  }
  a.addEventListener("change", update); b.addEventListener("change", update);
  update();
  return section("keyness", "Keyness explorer",
    el("p", { class: "muted" }, `Terms over-used in one period against another (G² > 3.84, p < 0.05), among the ${num(K.terms.length)} most frequent and listed terms. The full table is keyness.parquet; themeshift compare RUN --a … --b … adds corrections.`),
    el("div", { class: "controls" }, "Compare", a, "with", b), out);
}

function groups(kind, title, measureName) {
  const g = D[kind];
  if (!g || !g.groups || !g.groups.length) return section(kind, title, el("p", { class: "muted" }, `No ${kind} in this run.`));
  const ps = periodsOf();
  const rows = g.groups.map((group) => {
    const cells = new Map(group.series.map((s) => [s[0], s[1]]));
    const values = ps.map((p) => cells.get(p) ?? null);
    const first = values.find((v) => v !== null), last = [...values].reverse().find((v) => v !== null);
    return [group.id, group.size === undefined ? "" : num(group.size), group.terms.join(" "), sparkline(values),
      `${pct(first)} → ${pct(last)}`, el("ul", { class: "evidence" }, group.titles.map((t) => el("li", {}, t)))];
  });
  const model = g.model && g.model.model ? ` — ${g.model.model}, k = ${g.model.k}` : "";
  return section(kind, title + model, el("p", { class: "muted" }, `${measureName} per period; representative documents by weight.`),
    table([kind === "clusters" ? "cluster" : "topic", "size", "top terms", measureName, "first → last", "representative titles"], rows, [0, 1]));
}

function coherence() {
  const rows = (D.coherence || []).filter((r) => r.topic === null).map((r) => [r.model, r.k, num(r.c_npmi, 4), num(r.c_v, 4), num(r.u_mass, 3)]);
  if (!rows.length) return section("coherence", "Topic coherence", el("p", { class: "muted" }, "No topic models (or no tokens for coherence) in this run."));
  return section("coherence", "Topic coherence", el("p", { class: "muted" }, "Mean over each model's topics, as gensim's CoherenceModel (c_npmi, c_v over sliding windows; u_mass over documents)."),
    table(["model", "k", "c_npmi", "c_v", "u_mass"], rows, [1, 2, 3, 4]));
}

function footer() {
  return section("tables", "Tables", el("p", {}, "Every number on this page is in the run's Parquet tables (see README for their columns). In Python: ",
    el("code", {}, "pd.read_parquet(\"themes.parquet\")"), "; the TF-IDF matrix: ", el("code", {}, "scipy.sparse.csr_matrix((t[\"weight\"], (t[\"doc_index\"], t[\"term_id\"])))"), "."));
}

const root = document.getElementById("report");
const c = D.manifest.counts || {};
const sections = [overview, periods, themes, themeModel, terms, keyness, () => groups("clusters", "Clusters", "share of documents"),
  () => groups("topics", "Topics", "mean topic share"), coherence, footer];
root.replaceChildren(el("h1", {}, "themeshift report"),
  el("p", { class: "lead" }, `${num(c.documents_analysed)} documents analysed over ${num(c.periods)} periods; ${num(c.tokens)} tokens.`),
  el("nav", {}, [["overview", "Overview"], ["periods", "Periods"], ["themes", "Themes"], ...(D.theme_model ? [["theme-model", "Theme model"]] : []), ["terms", "Terms"], ["keyness", "Keyness"], ["clusters", "Clusters"], ["topics", "Topics"], ["coherence", "Coherence"]].map(([id, t]) => el("a", { href: "#" + id }, t))));
for (const make of sections) {
  try { const made = make(); if (made) root.append(made); } catch (e) { errors.push(`${make.name || "section"}: ${e}`); document.body.dataset.errors = errors.join(" | "); }
}

// report.html#selftest: hover the theme chart at its last period and record what the tooltip says
// and how full each section is, for a headless browser to read from the DOM.
if (location.hash === "#selftest") {
  const result = { sections: {} };
  for (const s of document.querySelectorAll("main > section")) result.sections[s.id] = s.querySelectorAll("tr, li, circle, polyline, .card, p").length;
  const hover = document.querySelector("#themes rect.hover");
  if (hover) {
    const box = hover.getBoundingClientRect();
    hover.dispatchEvent(new MouseEvent("mousemove", { clientX: box.right - 1, clientY: box.top + box.height / 2, bubbles: true }));
    result.hover = document.querySelector("#themes .tooltip").textContent;
  }
  document.body.dataset.selftest = JSON.stringify(result);
}
