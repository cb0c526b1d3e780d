/* commentd recent comments for a sidebar: fills each [data-commentd-recent] (data-limit: how
   many, 1 to 100, default 5) with the site's newest comments. Text only: the DOM is built with
   textContent, a comment's HTML is read as text in an inert document. Themed like the embed
   (--cd-* properties on the element, data-cd-theme="dark"). See docs/embedding.md. */
(() => {
"use strict";
const src = document.currentScript.src;
const CSS = `:host{display:block;--cd-font:system-ui,sans-serif;--cd-font-size:1rem;--cd-gap:1rem;--cd-fg:#1f2328;--cd-muted:#59636e;--cd-accent:#0969da;--cd-border:#d1d9e0}
:host([data-cd-theme=dark]){--cd-fg:#e6edf3;--cd-muted:#9198a1;--cd-accent:#4493f8;--cd-border:#30363d}
ol{list-style:none;margin:0;padding:0;font:var(--cd-font-size)/1.5 var(--cd-font);color:var(--cd-fg)}
li{padding:calc(var(--cd-gap)/2) 0;border-bottom:1px solid var(--cd-border);overflow-wrap:anywhere}
a{color:var(--cd-accent)}b{font-weight:600}time,p{color:var(--cd-muted);font-size:.875em}p{margin:.25em 0 0}`;
const h = (tag, text, attrs) => {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
};
const lang = document.documentElement.lang || navigator.language || "en";
const rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
const dtf = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" });
const ago = d => {
  let s = (d - Date.now()) / 1e3;
  for (const [u, n] of [["second", 60], ["minute", 60], ["hour", 24], ["day", 30], ["month", 12]]) {
    if (Math.abs(s) < n) return rtf.format(Math.round(s), u);
    s /= n;
  }
  return rtf.format(Math.round(s), "year");
};
const excerpt = html => {
  const text = new DOMParser().parseFromString(html, "text/html").body.textContent.replace(/\s+/g, " ").trim();
  return text.length > 140 ? text.slice(0, 139) + "…" : text;
};
const fill = async el => {
  const sr = el.shadowRoot || el.attachShadow({ mode: "open" });
  const limit = Math.min(Math.max(parseInt(el.dataset.limit, 10) || 5, 1), 100);
  const r = await fetch(new URL(`../api/recent?limit=${limit}`, src), { credentials: "omit" });
  if (!r.ok) return;
  const { comments } = await r.json();
  const anon = window.commentd?.strings?.anonymous || "Anonymous";
  const list = h("ol", null, { "aria-label": el.dataset.label || "Recent comments" });
  for (const c of comments) {
    const when = new Date(c.created), item = h("li");
    item.append(h("b", c.author || anon), " · ", h("a", c.title || c.uri, { href: /^https?:\/\//i.test(c.permalink) ? c.permalink : "#" }), " · ",
      h("time", ago(when), { datetime: c.created, title: dtf.format(when) }), h("p", excerpt(c.html)));
    list.append(item);
  }
  sr.replaceChildren(h("style", CSS), list);
};
const run = () => document.querySelectorAll("[data-commentd-recent]").forEach(el => fill(el).catch(() => {}));
document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", run) : run();
})();
