/* commentd embed: <div id="commentd"></div><script src="https://HOST/js/embed.js" defer></script>
   Plain ES2020, no dependencies. See docs/embedding.md. */
(() => {
"use strict";
const SRC = (document.currentScript || document.querySelector("script[src*='/embed.js']")).src;
const JS = new URL(".", SRC), API = new URL("../api/", SRC);
const LANGS = "en de fr es it pt nl ru ja zh pl ar he fa ko tr uk cs sv da fi nb el hu ro id vi th hi bn ca sk bg zh-Hant".split(" ");
const ALIAS_LANG = { iw: "he", no: "nb", nn: "nb", in: "id" };
const K = { id: "commentd:identity", tok: "commentd:tokens", vote: "commentd:votes", pend: "commentd:pending", me: "commentd:voter" };
// The words are in i18n/<lang>.json, English too; only this one is needed before they load.
const EN = { error_network: "Could not reach the comment server. Check your connection and try again." };
const ALIAS = {
  payload_too_large: "too_long", token_required: "edit_expired", invalid_token: "edit_expired",
  token_mismatch: "edit_expired", comment_deleted: "not_found", comment_not_found: "not_found",
  http_413: "too_long", http_429: "rate_limited", http_503: "unavailable"
};
const HELP = [["*…*", "italic"], ["**…**", "bold"], ["~~…~~", "strike"], ["[…](https://…)", "link"],
  ["`…`", "code"], ["> …", "quote"], ["- …", "list"], ["```\n…\n```", "block"]];
const states = new WeakMap(), cache = {};
let mounts = 0;

const load = k => { try { return JSON.parse(localStorage.getItem(k)) || {}; } catch { return {}; } };
const save = (k, v) => { try { localStorage.setItem(k, JSON.stringify(v)); } catch {} };
const expiry = tok => (tok ? tok.split(".")[1] * 1000 : 0);
// Tokens past their edit window are useless: prune them (and pending entries without a token).
const tokens = () => {
  const t = load(K.tok), p = load(K.pend);
  for (const id in t) if (!(expiry(t[id]) > Date.now())) delete t[id];
  for (const id in p) if (!t[id]) delete p[id];
  save(K.tok, t); save(K.pend, p);
  return t;
};
const uuid = () => crypto.randomUUID?.() ||
  Array.from(crypto.getRandomValues(new Uint8Array(16)), b => b.toString(16).padStart(2, "0")).join("");
// This browser's reader id: one vote per reader, not per network (the server keeps an HMAC of it).
const me = () => {
  let v = load(K.me);
  if (typeof v !== "string") save(K.me, (v = uuid()));
  return v;
};

// Elements: attributes only (never innerHTML); children appended as nodes or text, falsy ones skipped.
const put = (e, ...kids) => (e.append(...kids.filter(x => x != null && x !== false)), e);
const h = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const k in attrs) if (attrs[k] != null && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? "" : attrs[k]);
  return put(e, ...kids);
};
// Links to other sites: http(s) only (never javascript:), a reader's and not the site's.
const web = u => (/^https?:\/\//i).test(u) && u;
const host = u => { try { return new URL(u).hostname; } catch { return u; } };
const out = (u, kids, attrs) => h("a", { ...attrs, href: u, rel: "nofollow ugc noopener" }, kids);
// Identicon: a 5x5 grid mirrored around its middle column, cells and hue taken from the hash.
let blank;
const identicon = hash => {
  let d = "";
  for (let i = 0; i < 15; i++) {
    const x = i % 3, y = (i / 3) | 0;
    if (parseInt(hash[i], 16) & 1) d += `M${x} ${y}h1v1h-1zM${4 - x} ${y}h1v1h-1z`;
  }
  if (!blank) {
    blank = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    blank.setAttribute("viewBox", "-1 -1 7 7");
    blank.setAttribute("class", "cd-avatar");
    blank.setAttribute("aria-hidden", "true");
    blank.append(document.createElementNS(blank.namespaceURI, "path"));
  }
  const s = blank.cloneNode(true);
  s.firstChild.setAttribute("d", d);
  s.style.setProperty("--hue", parseInt(hash.slice(-3), 16) % 360);
  return s;
};

// With etag (even ""), the HTTP cache is bypassed and a 304 is null: see the live updates.
const api = async (path, { method = "GET", body, token, key, signal, etag } = {}) => {
  const headers = {};
  if (etag) headers["If-None-Match"] = etag;
  if (body) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = "Bearer " + token;
  if (key) headers["Idempotency-Key"] = key;
  let r;
  try {
    r = await fetch(new URL(path, API), { method, headers, body: body && JSON.stringify(body), credentials: "omit", signal, cache: etag == null ? "default" : "no-store" });
  } catch (e) {
    throw e.name === "AbortError" ? e : { code: "network" };
  }
  if (r.status === 304) return null;
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw j.error || { code: "http_" + r.status };
  j.etag = r.headers.get("ETag");
  return j;
};

const pick = (...cands) => {
  for (const c of cands) {
    const [l, ...r] = String(c || "").toLowerCase().split(/[-_]/), a = ALIAS_LANG[l] || l;
    if (a === "zh" && r.some(x => /^(hant|tw|hk|mo)$/.test(x))) return "zh-Hant";
    if (LANGS.includes(a)) return a;
  }
  return "en";
};
const pageLang = first => pick(first, document.documentElement.lang, ...(navigator.languages || [navigator.language]));
const strings = (lang, extra) => (cache[lang] ||= fetch(new URL(`i18n/${lang}.json`, JS), { credentials: "omit" }).then(r => (r.ok ? r.json() : {})).catch(() => ({})))
  .then(s => ({ ...EN, ...s, ...window.commentd.strings, ...extra }));
// t(key, {n, name}): plural objects pick their form with Intl.PluralRules; {n} is localized.
const translator = (S, lang) => {
  const pr = new Intl.PluralRules(lang), nf = new Intl.NumberFormat(lang);
  return (key, v = {}) => {
    let s = S[key] ?? key;
    if (typeof s === "object") s = s[pr.select(v.n)] ?? s.other;
    return String(s).replace(/\{(\w+)\}/g, (m, k) => (k === "n" ? nf.format(v.n) : v[k] ?? m));
  };
};

// Proof of work (docs/moderation.md): an ALTCHA challenge solved in a Web Worker made from pow.js,
// fetched only once a challenge is handed out; the page's main thread never does the work.
let powJs;
const solve = c => (powJs ||= fetch(new URL("pow.js", JS), { credentials: "omit" }).then(r => r.text()))
  .then(src => new Promise((ok, no) => {
    const w = new Worker(URL.createObjectURL(new Blob([src], { type: "text/javascript" })));
    w.onmessage = ({ data: { number } }) => (w.terminate(), ok(btoa(JSON.stringify({ algorithm: c.algorithm, challenge: c.challenge, number, salt: c.salt, signature: c.signature }))));
    w.onerror = no;
    w.postMessage(c);
  }));

async function counts() {
  const els = [...document.querySelectorAll("[data-commentd-count],a[href$='#commentd']")];
  if (!els.length) return;
  const uri = e => (e.dataset.commentdCount || e.pathname).trim(), lang = pageLang();
  const wordy = e => e.hasAttribute("data-commentd-count-text");
  const [S, { counts: c }] = await Promise.all([els.some(wordy) ? strings(lang) : EN,
    api("counts", { method: "POST", body: { uris: [...new Set(els.map(uri))].slice(0, 200) } })]);
  const t = translator(S, lang);
  for (const e of els) {
    const n = c[uri(e)] ?? 0;
    e.textContent = wordy(e) ? t("comments", { n }) : n;
  }
}

function unmount(el) {
  const ac = states.get(el);
  if (!ac) return;
  ac.abort();
  el.shadowRoot.replaceChildren();
  delete el.dataset.cdTheme;
  states.delete(el);
}

function mount(el, o = {}) {
  unmount(el);
  const ac = new AbortController(), signal = ac.signal, on = { signal };
  states.set(el, ac);
  const d = el.dataset, no = ++mounts;
  const uri = o.uri || d.uri || location.pathname, title = o.title || d.title || document.title;
  const lang = pageLang(o.lang || d.lang);
  if (o.theme) d.theme = o.theme; // reflected, so that a page's own CSS can see it
  let sort = ["oldest", "newest", "top"].includes(o.sort || d.sort) ? o.sort || d.sort : "oldest";
  const sr = el.shadowRoot || el.attachShadow({ mode: "open" });
  const css = h("link", { rel: "stylesheet", href: new URL("embed.css", JS), crossorigin: "anonymous" });
  // A thread the page already holds (GET /html/thread, put there by the blog) stays on screen
  // through a slot until the interactive one is drawn, then makes way without moving the page.
  const pre = el.querySelector(":scope>.commentd-thread"), slot = h("slot");
  sr.replaceChildren(css, ...(pre ? [slot] : []));
  // Intl objects are made now, while the network is busy: their first use is slow.
  const S = {}, t = translator(S, lang), rtf = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const dtf = new Intl.DateTimeFormat(lang, { dateStyle: "long", timeStyle: "short" });
  let ids = 0, gen = 0, cursor = null, total = 0, locked = false, ro = false, tk = {}, vt = {}, pw, cfg, cfgAt, mod, root, thread, more, live, heading, news, rx;
  const names = new Map();
  const uid = () => `cd${no}-${++ids}`;
  const $ = id => sr.getElementById("c" + id);
  const say = m => { live.textContent = ""; setTimeout(() => (live.textContent = m), 50); };
  const err = e => {
    const k = "error_" + (ALIAS[e.code] || e.code);
    return t(k in S ? k : "error_generic");
  };
  // The server's thread gives way to ours; the comment the reader was at stays where it was.
  const takeOver = () => {
    const as = [...pre.querySelectorAll("article[id^=c]")], at = as.find(a => a.getBoundingClientRect().top >= 0) || as.findLast(a => a.getBoundingClientRect().top < 0);
    const edge = () => el.getBoundingClientRect().bottom, before = at ? at.getBoundingClientRect().top : edge();
    slot.remove();
    root.hidden = false;
    if (before >= innerHeight) return; // all that changed is below the reader
    const now = at && $(at.id.slice(1)), cs = [...thread.children];
    // Comments off screen have estimated heights (content-visibility) until drawn: drawn once
    // here (their heights are then remembered), the place is set, and set again as it settles.
    for (const c of cs) c.style.contentVisibility = "visible";
    const keep = (n = 2) => {
      const d = (now ? now.getBoundingClientRect().top : at ? before : edge()) - before;
      if (d) scrollBy(0, d);
      if (n) requestAnimationFrame(() => keep(n - 1));
      else for (const c of cs) c.style.contentVisibility = "";
    };
    keep();
  };
  const sayErr = e => e.name !== "AbortError" && say(err(e));
  const setTitle = () => (heading.textContent = t("comments", { n: total }));

  const rel = {}; // "3 days ago" is formatted once, not once per comment
  const ago = iso => {
    const s = Math.min(0, (Date.parse(iso) - Date.now()) / 1e3);
    for (const [u, n] of [["year", 31536e3], ["month", 2592e3], ["week", 604800], ["day", 86400], ["hour", 3600], ["minute", 60]])
      if (-s >= n) return (rel[Math.trunc(s / n) + u] ||= rtf.format(Math.trunc(s / n), u));
    return t("just_now");
  };
  // Absolute dates (tooltips) are filled in just after a render, off its critical path.
  const titles = () => setTimeout(() => {
    for (const e of sr.querySelectorAll("time.cd-time:not([title])")) e.title = dtf.format(new Date(e.dateTime));
  });
  const tick = () => {
    tk = tokens();
    for (const e of sr.querySelectorAll("time.cd-time")) e.textContent = ago(e.dateTime);
    for (const e of sr.querySelectorAll(".cd-remaining")) {
      const ms = expiry(tk[e.closest("article").dataset.id]) - Date.now();
      if (ms > 0) e.textContent = t("remaining", { n: Math.ceil(ms / 6e4) });
      else e.parentNode.querySelectorAll(".cd-edit,.cd-delete,.cd-remaining").forEach(x => x.remove());
      // and once more the moment the window closes, not at the next half-minute tick
      if (ms > 0 && ms < 31e3) setTimeout(tick, ms + 20);
    }
  };

  // Every comment is a clone of one prototype article, filled in: much faster than building each.
  let proto;
  const clone = () => (proto ||= h("article", { class: "cd-comment" },
    h("header", {}, h("span", { class: "cd-author", dir: "auto" }), h("a", { class: "cd-permalink" }, h("time", { class: "cd-time" }))),
    h("div", { class: "cd-body", dir: "auto" }),
    h("footer", {}, h("button", { type: "button", class: "cd-reply", "aria-expanded": "false" }, t("reply")),
      ...["like", "dislike"].map(k => h("button", { type: "button", class: "cd-" + k, "aria-pressed": "false" },
        h("span", { class: "cd-sr" }, t(k)), h("span", { class: "cd-" + k + "s" }))))
  )).cloneNode(true);
  const avatars = new Map();
  // One comment (and, recursively, its replies) built once, off-document.
  const node = (c, depth, sp) => {
    const a = clone(), head = a.firstChild, body = head.nextSibling, foot = body.nextSibling, author = head.firstChild,
      link = author.nextSibling, reply = foot.firstChild, like = reply.nextSibling, dislike = like.nextSibling;
    const id = c.id, tok = tk[id], pending = c.status === "pending";
    a.id = "c" + id;
    a.setAttribute("data-id", id);
    a.setAttribute("data-depth", depth);
    if (c.status === "deleted") {
      a.classList.add("cd-deleted");
      a.replaceChildren(h("p", { class: "cd-gone" }, t("deleted")));
    } else {
      const who = c.author || t("anonymous"), site = web(c.website), src = web(c.source);
      const parent = c.parent && c.parent !== sp && names.get(c.parent);
      names.set(id, who);
      let svg = c.avatar && avatars.get(c.avatar);
      if (c.avatar && !svg) avatars.set(c.avatar, (svg = identicon(c.avatar)));
      // a remote author's picture as commentd keeps it (its own origin), else Gravatar if on
      const pic = web(c.picture) || (c.gravatar && cfg.gravatar && `https://www.gravatar.com/avatar/${c.gravatar}?d=identicon&s=80`);
      if (pic) {
        const img = h("img", { class: "cd-avatar", src: pic, alt: "", "aria-hidden": "true", referrerpolicy: "no-referrer", loading: "lazy", width: 80, height: 80 });
        img.addEventListener("error", () => svg && img.replaceWith(svg.cloneNode(true))); // blocked or offline
        head.prepend(img);
      } else if (svg) head.prepend(svg.cloneNode(true));
      if (site) author.replaceWith(out(site, who, { class: "cd-author", dir: "auto" }));
      else author.textContent = who;
      link.setAttribute("href", "#c" + id);
      const time = link.firstChild;
      time.dateTime = c.created;
      time.textContent = ago(c.created);
      if (c.pinned) a.classList.add("cd-is-pinned");
      // A Webmention says where it came from; it is answered there, not edited here.
      put(head, src && out(src, t(c.type === "mention" ? "mentioned" : "via", { host: host(src) }), { class: "cd-via" }),
        c.pinned && h("span", { class: "cd-pinned" }, t("pinned")),
        c.modified && h("span", { class: "cd-edited", title: dtf.format(new Date(c.modified)) }, t("edited")),
        parent && h("a", { class: "cd-parent", href: "#c" + c.parent }, t("in_reply_to", { name: parent })));
      if (c.nodes) body.append(...c.nodes.map(x => x.cloneNode(true)));
      else body.innerHTML = c.html;
      if (pending) {
        body.after(h("p", { class: "cd-pending" }, t("pending")));
        foot.replaceChildren();
      } else {
        if (locked || ro || src) reply.remove();
        for (const [b, n, k] of [[like, 1, "likes"], [dislike, -1, "dislikes"]]) {
          b.lastChild.textContent = c[k];
          if (vt[id] === n) b.setAttribute("aria-pressed", "true");
          b.disabled = !!tok || locked || ro;
        }
      }
      if (tok && !src) {
        put(foot, h("button", { type: "button", class: "cd-edit" }, t("edit")),
          h("button", { type: "button", class: "cd-delete" }, t("delete")),
          h("span", { class: "cd-remaining" }, t("remaining", { n: Math.ceil((expiry(tok) - Date.now()) / 6e4) })));
        setTimeout(tick, expiry(tok) - Date.now() + 20);
      } else if (!pending && !ro) foot.append(h("button", { type: "button", class: "cd-report", "aria-expanded": "false" }, t("report")));
    }
    const kids = (c.replies || []).filter(r => !$(r.id)).map(r => node(r, depth + 1, id));
    if (kids.length) a.append(h("div", { class: "cd-replies" }, ...kids));
    // Off screen, a comment is as tall as this estimate (content-visibility): its lines of text
    // and its replies', so a jump down a long thread lands where it will stay.
    a.cdEm = 5.5 + 1.6 * Math.ceil(body.textContent.length / 80) + kids.reduce((n, k) => n + k.cdEm, 0);
    if (depth === 1) a.style.containIntrinsicSize = `auto ${a.cdEm}em`;
    return a;
  };
  const repliesOf = a => a.querySelector(":scope>.cd-replies") || a.appendChild(h("div", { class: "cd-replies" }));
  // Place a comment of ours where the server will show it: under its parent, or next to it at max depth.
  const add = c => {
    tk = tokens();
    vt = load(K.vote);
    const p = c.parent && $(c.parent), pd = p ? +p.dataset.depth : 0;
    const box = !p ? thread : pd < cfg.max_depth ? repliesOf(p) : p.parentNode;
    const a = node(c, p ? Math.min(pd + 1, cfg.max_depth) : 1, box === thread ? null : +box.parentNode.dataset.id);
    // Newest first puts it on top, under the pinned comments.
    box.insertBefore(a, box === thread && sort === "newest" ? box.querySelector(":scope>:not(.cd-is-pinned)") : null);
    titles();
    sr.querySelector(".cd-empty")?.remove();
    return a;
  };

  const field = (f, name, label, type, need, auto, max) => {
    const id = f.id + name;
    return h("div", { class: "cd-field" },
      h("label", { for: id }, t(label), " ", h("span", { class: "cd-hint" },
        `(${t(need ? "required" : "optional")}${name === "email" ? ", " + t("email_private") : ""})`)),
      h("input", { id, name, type, required: need, autocomplete: auto, maxlength: max, value: load(K.id)[name], "aria-describedby": f.id + "e" }));
  };
  const textarea = (f, text) => [
    h("label", { for: f.id + "t", class: "cd-label" }, t("write")),
    h("textarea", { id: f.id + "t", name: "text", rows: 4, required: true, "aria-describedby": f.id + "e " + f.id + "n" }, text),
    h("p", { class: "cd-count", id: f.id + "n", hidden: true })];
  // The characters left, shown near the limit (counted as the server counts: code points);
  // announced only when a step down is crossed, not at every keystroke.
  const count = x => {
    const c = x.form.querySelector(".cd-count"), max = cfg.max_length, n = max - [...x.value].length;
    const step = [500, 100, 10, 0].findIndex(k => n <= k), near = n <= Math.max(100, max / 10);
    c.hidden = !near;
    c.classList.toggle("cd-over", n < 0);
    c.textContent = n < 0 ? t("error_too_long") : t("chars_left", { n });
    if (near && step > (x.cdStep ?? -1)) say(c.textContent);
    x.cdStep = near ? step : -1;
  };
  const actions = (f, ...btns) => [h("div", { class: "cd-error", role: "alert", id: f.id + "e" }),
    h("div", { class: "cd-actions" }, ...btns)];
  const composer = parent => {
    const f = h("form", { class: "cd-composer " + (parent ? "cd-reply-form" : "cd-main"), novalidate: true, id: uid() });
    f.cdParent = parent;
    const { email, notify, notify_thread } = load(K.id);
    const box = (on, name, v) => on && h("label", { class: "cd-check" }, h("input", { type: "checkbox", name, disabled: !email, checked: !!(email && v) }), " ", t(name));
    put(f, ...textarea(f),
      h("div", { class: "cd-preview-output", dir: "auto", hidden: true }),
      h("details", { class: "cd-help" }, h("summary", {}, t("markdown_help")),
        h("ul", {}, ...HELP.map(([code, k]) => h("li", {}, h("code", {}, code), " ", t("md_" + k))), h("li", {}, t("md_html")))),
      h("div", { class: "cd-fields" },
        field(f, "author", "name", "text", cfg.require_author, "name", 128),
        field(f, "email", "email", "email", cfg.require_email, "email", 254),
        field(f, "website", "website", "url", false, "url", 512)),
      box(cfg.notifications, "notify", notify), box(cfg.thread_notifications, "notify_thread", notify_thread),
      // A honeypot for bots: off-screen, out of the tab order and of the accessibility tree.
      h("div", { class: "cd-hp", "aria-hidden": "true" }, h("label", { for: f.id + "h" }, "Homepage"),
        h("input", { id: f.id + "h", name: "homepage", type: "text", tabindex: -1, autocomplete: "off", "aria-hidden": "true" })),
      !parent && mod.includes("all") && h("p", { class: "cd-hint" }, t("moderated")),
      !parent && !mod.includes("all") && (mod.includes("first") || mod.includes("links")) &&
        h("p", { class: "cd-hint" }, t("moderated_some")),
      ...actions(f, parent && h("button", { type: "button", class: "cd-cancel" }, t("cancel")),
        h("button", { type: "button", class: "cd-preview" }, t("preview")),
        h("button", { type: "submit", class: "cd-submit" }, t("submit"))));
    return f;
  };
  const clear = f => {
    f.querySelector(".cd-error").textContent = "";
    f.querySelectorAll("[aria-invalid]").forEach(x => x.removeAttribute("aria-invalid"));
  };
  const togglePreview = (f, html) => {
    const out = f.querySelector(".cd-preview-output"), show = html != null;
    out.hidden = !show;
    f.elements.text.hidden = show;
    if (show) out.innerHTML = html; // server-rendered and sanitized by /api/preview
    f.querySelector(".cd-preview").textContent = t(show ? "edit_text" : "preview");
  };
  const fail = (f, e) => {
    if (e.name === "AbortError") return;
    f.querySelector(".cd-error").textContent = err(e);
    const x = f.elements[e.code === "email_required" ? "email" : e.field];
    if (x?.name) {
      if (x.name === "text" && f.querySelector(".cd-preview")) togglePreview(f);
      x.setAttribute("aria-invalid", "true");
      x.focus();
    }
  };
  const closeReply = f => {
    f.closest("article").querySelector(":scope>footer>.cd-reply")?.setAttribute("aria-expanded", "false");
    f.remove();
  };
  // Disable a control (and relabel a button) while fn runs.
  const busy = async (btn, label, fn) => {
    const old = btn.textContent;
    btn.disabled = true;
    if (label) btn.textContent = label;
    try { await fn(); } finally {
      btn.disabled = false;
      if (label) btn.textContent = old;
    }
  };

  const post = async f => {
    const E = f.elements, text = E.text.value, email = E.email.value.trim();
    clear(f);
    for (const x of [E.text, E.author, E.email]) if (x.required && !x.value.trim()) return fail(f, { code: "required", field: x.name });
    if (f.cdKey?.[0] !== text) f.cdKey = [text, uuid()]; // a retry of the same text reuses its key
    const notify = !!E.notify?.checked && !!email, notify_thread = !!E.notify_thread?.checked && !!email;
    const body = { text, author: E.author.value || null, email: email || null, website: E.website.value || null,
      notify, notify_thread, title, lang, parent: f.cdParent || null, voter: me(), form_stamp: cfg.form_stamp || null, homepage: E.homepage.value };
    await busy(f.querySelector(".cd-submit"), t("posting"), async () => {
      // A form sent sooner than the server's minimum time would be held: wait the rest out.
      const wait = cfgAt + (cfg.min_submit_time + 1) * 1e3 - Date.now();
      if (cfg.form_stamp && cfg.min_submit_time && wait > 0) await new Promise(r => setTimeout(r, wait));
      const send = () => api("comments?uri=" + encodeURIComponent(uri), { method: "POST", body, key: f.cdKey[1], signal });
      try {
        body.altcha = await pw;
        // Asked for a (harder) proof of work: solve the challenge the answer carries, send again once.
        const { comment: c, token, notifications: n } = await send().catch(async e => {
          if (e.code !== "challenge_required" || !e.challenge) throw e;
          body.altcha = await solve(e.challenge);
          return send();
        });
        f.cdKey = pw = null; // the solution is spent
        save(K.tok, { ...tokens(), [c.id]: token });
        if (c.status === "pending") save(K.pend, { ...load(K.pend), [c.id]: uri });
        save(K.id, { author: body.author, email: body.email, website: body.website, notify, notify_thread });
        E.text.value = "";
        count(E.text);
        togglePreview(f);
        const a = add(c);
        if (c.status === "approved") total++, setTitle();
        mark();
        // A confirmed address is told what will come; any other, that a confirmation comes first.
        const next = n && t(n !== "confirmed" ? "notify_confirm" : notify ? "notify_next" : "notify_next_thread", { email });
        say(t(c.status === "pending" ? "pending" : "posted") + (next ? " " + next : ""));
        if (next) a.querySelector(":scope>footer").before(h("p", { class: "cd-note cd-next" }, next));
        if (f.cdParent) closeReply(f);
        a.tabIndex = -1;
        a.focus(); // with a ring the reader sees (embed.css), however they posted
      } catch (e) { fail(f, e); }
    });
  };
  const edit = async (a, btn) => {
    const old = a.querySelector(":scope>.cd-edit-form");
    if (old) return old.elements.text.focus();
    const id = a.dataset.id;
    try {
      const { comment: c } = await api("comments/" + id, { token: tokens()[id], signal });
      if (c.text == null) throw { code: "edit_expired" };
      const f = h("form", { class: "cd-edit-form", novalidate: true, id: uid() });
      f.append(...textarea(f, c.text), ...actions(f, h("button", { type: "button", class: "cd-cancel" }, t("cancel")),
        h("button", { type: "submit", class: "cd-submit" }, t("save"))));
      const body = a.querySelector(":scope>.cd-body");
      body.hidden = true;
      body.after(f);
      f.elements.text.focus();
    } catch (e) { flash(a, e); btn.focus(); }
  };
  const closeEdit = f => {
    const a = f.closest("article");
    a.querySelector(":scope>.cd-body").hidden = false;
    f.remove();
    a.querySelector(":scope>footer>.cd-edit")?.focus();
  };
  const saveEdit = f => busy(f.querySelector(".cd-submit"), null, async () => {
    const a = f.closest("article"), id = a.dataset.id;
    clear(f);
    try {
      const { comment: c } = await api("comments/" + id, { method: "PUT", body: { text: f.elements.text.value }, token: tokens()[id], signal });
      a.querySelector(":scope>.cd-body").innerHTML = c.html;
      if (!a.querySelector(":scope>header>.cd-edited")) a.querySelector(":scope>header>.cd-permalink").after(h("span", { class: "cd-edited" }, t("edited")));
      closeEdit(f);
      say(t("saved"));
    } catch (e) { fail(f, e); }
  });
  const remove = async a => {
    if (!confirm(t("confirm_delete"))) return;
    const id = a.dataset.id, kids = a.querySelector(":scope>.cd-replies");
    try {
      const { comment: c } = await api("comments/" + id, { method: "DELETE", token: tokens()[id], signal });
      const all = tokens();
      delete all[id];
      save(K.tok, all);
      if (!a.querySelector(":scope>.cd-pending")) total--, setTitle();
      let g = heading;
      if (kids?.querySelector("article")) {
        g = node(c, +a.dataset.depth);
        g.append(kids);
        g.tabIndex = -1;
        a.replaceWith(g);
      } else a.remove();
      g.focus();
      say(t("removed"));
    } catch (e) { flash(a, e); }
  };
  const vote = async (a, v) => {
    const id = a.dataset.id, cur = load(K.vote)[id];
    try {
      const r = await api(`comments/${id}/vote`, { method: "POST", body: { value: cur === v ? 0 : v, voter: me() }, signal });
      const votes = load(K.vote);
      if (r.vote) votes[id] = r.vote; else delete votes[id];
      save(K.vote, votes);
      for (const [k, n] of [["like", 1], ["dislike", -1]]) {
        const b = a.querySelector(`:scope>footer>.cd-${k}`);
        b.setAttribute("aria-pressed", String(r.vote === n));
        b.querySelector(`.cd-${k}s`).textContent = r[k + "s"];
      }
    } catch (e) {
      if (e.code === "own_comment") a.querySelectorAll(":scope>footer>:is(.cd-like,.cd-dislike)").forEach(b => (b.disabled = true));
      flash(a, e);
    }
  };
  // Report: a reason picked from four, sent with the reader id; the moderators do the rest.
  const report = (a, b) => {
    const open = a.querySelector(":scope>.cd-report-form");
    if (open) return closeReport(open);
    const f = h("form", { class: "cd-report-form", id: uid() });
    put(f, h("fieldset", {}, h("legend", {}, t("report_label")),
      ...["spam", "abuse", "off_topic", "other"].map((r, i) => h("label", { class: "cd-check" },
        h("input", { type: "radio", name: "reason", value: r, checked: !i }), " ", t("reason_" + r)))),
    ...actions(f, h("button", { type: "button", class: "cd-cancel" }, t("cancel")), h("button", { type: "submit", class: "cd-submit" }, t("report_send"))));
    b.setAttribute("aria-expanded", "true");
    a.querySelector(":scope>footer").after(f);
    f.elements.reason[0].focus();
  };
  const closeReport = f => {
    const b = f.closest("article").querySelector(":scope>footer>.cd-report");
    b?.setAttribute("aria-expanded", "false");
    f.remove();
    b?.focus();
  };
  const sendReport = f => busy(f.querySelector(".cd-submit"), null, async () => {
    const a = f.closest("article");
    clear(f);
    try {
      await api(`comments/${a.dataset.id}/report`, { method: "POST", body: { reason: f.elements.reason.value, voter: me() }, signal });
      const b = a.querySelector(":scope>footer>.cd-report");
      f.replaceWith(h("p", { class: "cd-note", tabindex: -1 }, t("reported")));
      b?.remove();
      a.querySelector(":scope>.cd-note").focus();
      say(t("reported"));
    } catch (e) { fail(f, e); }
  });
  const flash = (a, e) => {
    if (e.name === "AbortError") return;
    const f = a.querySelector(":scope>footer");
    (f.querySelector(".cd-alert") || f.appendChild(h("span", { class: "cd-alert", role: "alert" }))).textContent = err(e);
  };

  // A page asked for before the sort changed is dropped when it arrives (gen moved on).
  const page = async () => {
    const g = gen, q = new URLSearchParams({ uri, sort });
    if (cursor) q.set("cursor", cursor);
    // A current server-rendered thread (its JSON's ETag still matches: a 304) is read from
    // the page itself, not downloaded again.
    const tag = !cursor && !gen && pre?.dataset.etag, tags = tag && tag + ", " + tag.slice(0, -1) + '-gzip"';
    const r = (await api("comments?" + q, { signal, etag: tags || undefined })) || Object.assign(fromPre(), { etag: tags });
    if (g !== gen) throw Object.assign(new Error("stale page"), { name: "AbortError" });
    if (!cursor) etag = r.etag, last = r; // the first page is what live updates watch
    cursor = r.cursor;
    total = r.thread.total;
    locked = r.thread.locked;
    return r.comments;
  };
  // The fragment's comments in the JSON's shape; their HTML is cloned as nodes, never re-parsed.
  const fromPre = () => {
    const one = a => {
      const d = a.dataset, n = x => +d[x] || 0, b = a.querySelector(":scope>.e-content");
      return { id: +a.id.slice(1), parent: n("parent") || null, status: d.status, author: d.author || null, website: d.website || null, avatar: d.avatar, type: d.type, source: d.source,
        gravatar: d.gravatar || null, picture: d.picture || null, created: d.created, modified: d.modified || null, likes: n("likes"), dislikes: n("dislikes"), pinned: !!d.pinned,
        nodes: b && [...b.childNodes], replies: [...a.querySelectorAll(":scope>.cd-replies>article")].map(one) };
    };
    const d = pre.dataset;
    return { thread: { total: +d.total, locked: "locked" in d }, reactions: JSON.parse(d.reactions || "{}"), cursor: d.cursor || null, comments: [...pre.querySelectorAll(":scope>.cd-comments>article")].map(one) };
  };
  // "3 likes: Ada, Bob · 1 repost: Cy" under the heading, each name a link to its site; hidden when none.
  const react = (x = {}) => {
    const row = ["like", "repost", "bookmark"].filter(k => x[k]?.count).map(k => h("li", {}, t(k + "s", { n: x[k].count }),
      ...x[k].people.flatMap((p, i) => [i ? ", " : ": ", web(p.url) ? out(p.url, p.name || t("anonymous"), { dir: "auto" }) : h("span", { dir: "auto" }, p.name || t("anonymous"))])));
    rx.replaceChildren(...row);
    rx.hidden = !row.length;
  };
  const render = list => {
    tk = tokens();
    vt = load(K.vote);
    const frag = document.createDocumentFragment();
    for (const c of list) if (!$(c.id)) frag.append(node(c, 1, null));
    thread.append(frag);
    react(last?.reactions);
    if (!thread.firstChild) thread.append(h("p", { class: "cd-empty" }, t("empty")));
    more.hidden = !cursor;
    setTitle();
    titles();
  };
  const show = list => {
    thread.replaceChildren();
    render(list);
    showPending();
    mark();
  };

  // Live updates: the first page is asked for again with If-None-Match, every `poll` seconds
  // (jittered), backing off to 12 times that while nothing changes, never while the tab is hidden.
  const every = (o.poll ?? d.poll ?? 25) * 1e3;
  let etag, last, wait = every, pt, runs = 0, shown = 0;
  // New: approved comments of the last first page that the thread does not show (ours it does).
  const fresh = (l = last?.comments || []) => l.reduce((n, c) => n + (!$(c.id) && c.status === "approved") + fresh(c.replies || []), 0);
  const mark = () => {
    const n = fresh();
    news.hidden = !n;
    news.textContent = t("new_comments", { n });
    if (n && n !== shown) say(news.textContent);
    shown = n;
  };
  const poll = async () => {
    clearTimeout(pt);
    const me = ++runs, g = gen;
    if (document.visibilityState === "hidden") return;
    try {
      const r = await api("comments?" + new URLSearchParams({ uri, sort }), { etag: etag || "", signal });
      wait = r ? every : Math.min(wait * 1.5, every * 12);
      if (r && g === gen) etag = r.etag, last = r, mark(), react(r.reactions);
    } catch (e) {
      if (e.name === "AbortError") return;
      wait = Math.min(wait * 2, every * 12);
    }
    if (me === runs) pt = setTimeout(poll, wait * (0.8 + Math.random() * 0.4));
  };
  // Each new comment goes where the server puts it: before its next sibling shown, or last.
  // What the reader looks at stays put; focus goes to the first new comment.
  const showNew = () => {
    const top = thread.getBoundingClientRect().top < 0 && [...thread.querySelectorAll("article"), live].find(a => a.getBoundingClientRect().top >= 0);
    const y = top && top.getBoundingClientRect().top, added = [];
    const walk = (l, pid, depth) => l.forEach((c, i) => {
      if ($(c.id)) return walk(c.replies || [], c.id, depth + 1);
      const box = pid ? repliesOf($(pid)) : thread;
      box.insertBefore(added[added.push(node(c, depth, pid)) - 1], l.slice(i + 1).map(x => $(x.id)).find(x => x?.parentNode === box) || null);
    });
    tk = tokens();
    vt = load(K.vote);
    walk(last.comments, null, 1);
    sr.querySelector(".cd-empty")?.remove();
    total = last.thread.total;
    setTitle();
    titles();
    if (top) scrollBy(0, top.getBoundingClientRect().top - y);
    for (const a of added) a.classList.add("cd-fresh"), (a.tabIndex = -1);
    added[0]?.focus({ preventScroll: true });
    mark();
  };
  const loadMore = () => busy(more, t("loading"), async () => render(await page()));
  const go = async (id, focus) => {
    let a;
    try {
      for (let i = 0; !(a = $(id)) && cursor && i < 20; i++) await loadMore();
    } catch (e) { sayErr(e); }
    if (!a) return;
    sr.querySelector(".cd-highlight")?.classList.remove("cd-highlight");
    a.classList.add("cd-highlight");
    a.tabIndex = -1;
    a.scrollIntoView({ block: "center" });
    if (focus) a.focus({ preventScroll: true });
  };
  const hashId = () => /^#c(\d+)$/.exec(location.hash)?.[1];
  // Pending comments are invisible in the thread: show ours again, fetched with their tokens.
  const showPending = () => {
    for (const [id, u] of Object.entries(load(K.pend))) {
      if (u !== uri || $(id)) continue;
      api("comments/" + id, { token: tk[id], signal }).then(({ comment: c }) => {
        if (c.status === "pending") return add(c);
        const p = load(K.pend);
        delete p[id];
        save(K.pend, p);
      }).catch(() => {});
    }
  };

  const start = async () => {
    const first = page();
    first.catch(() => {});
    // Render only once the stylesheet is in: no flash of unstyled content.
    const styled = new Promise(r => {
      css.addEventListener("load", r, on);
      css.addEventListener("error", r, on);
    });
    const [loaded, c] = await Promise.all([strings(lang, o.strings), api("config", { signal }).catch(() => ({})), styled]);
    Object.assign(S, loaded);
    cfg = { max_depth: 6, max_length: 1e4, ...c };
    cfgAt = Date.now();
    mod = [].concat(cfg.moderation || []); // a list of rules (older servers: one string)
    const sid = uid(), mq = matchMedia("(prefers-color-scheme: dark)");
    // The resolved theme goes on the host too, so one :host([data-cd-theme=dark]) rule set serves
    // both data-theme="dark" and the system's preference.
    const setTheme = () => (d.cdTheme = root.dataset.theme = /^(light|dark)$/.test(d.theme) ? d.theme : mq.matches ? "dark" : "light");
    heading = h("h2", { class: "cd-title", tabindex: -1 }, t("title_label"));
    thread = h("div", { class: "cd-thread" });
    more = h("button", { type: "button", class: "cd-more", hidden: true }, t("load_more"));
    live = h("div", { class: "cd-live cd-sr", "aria-live": "polite" });
    rx = h("ul", { class: "cd-reactions", "aria-label": t("reactions"), hidden: true });
    news = h("button", { type: "button", class: "cd-news", hidden: true });
    // The thread's Atom feed, in the header beside the title.
    const feed = h("a", { class: "cd-feed", type: "application/atom+xml", href: new URL("../feed/thread.atom?" + new URLSearchParams({ uri, lang }), JS) }, t("feed"));
    root = h("section", { class: "cd-root", lang, dir: /^(ar|he|fa)$/.test(lang) ? "rtl" : "ltr", "aria-label": t("title_label") }, heading, feed, rx);
    setTheme();
    mq.addEventListener("change", setTheme, on);
    const watch = new MutationObserver(setTheme); // the page may switch data-theme at any time
    watch.observe(el, { attributeFilter: ["data-theme"] });
    signal.addEventListener("abort", () => watch.disconnect());
    // A page whose origin may not post reads the thread, and its owner learns what to change.
    const blocked = (ro = cfg.origin_allowed === false) && t("origin_blocked", { origin: location.origin });
    if (blocked) console.warn("commentd: " + blocked);
    const main = blocked ? h("p", { class: "cd-note cd-blocked", role: "status" }, blocked) : composer();
    root.append(main, h("div", { class: "cd-bar" }, h("label", { for: sid }, t("sort_label")),
      h("select", { id: sid, class: "cd-sort" }, ...["oldest", "newest", "top"].map(v => h("option", { value: v, selected: v === sort }, t("sort_" + v))))),
    h("div", { class: "cd-newsbar" }, news), thread, more, live);
    root.hidden = !!pre;
    sr.append(root);
    let list;
    try {
      list = await first;
    } catch (e) {
      if (e.name !== "AbortError") thread.append(h("p", { class: "cd-alert", role: "alert" }, err(e), " ",
        h("button", { type: "button", class: "cd-retry" }, t("retry"))));
      return;
    }
    if (locked && !blocked) main.replaceWith(h("p", { class: "cd-note" }, t("locked")));
    show(list);
    if (pre) takeOver();
    const timer = setInterval(tick, 3e4);
    signal.addEventListener("abort", () => clearInterval(timer));
    addEventListener("hashchange", () => hashId() && go(hashId(), true), on);
    if (every > 0) {
      document.addEventListener("visibilitychange", () => { wait = every; poll(); }, on);
      signal.addEventListener("abort", () => clearTimeout(pt));
      pt = setTimeout(poll, every);
    }
    if (hashId()) go(hashId());
  };

  sr.addEventListener("click", e => {
    const b = e.target.closest("button,a[href^='#c']");
    if (!b) return;
    const a = b.closest("article"), f = b.closest("form"), c = b.classList;
    if (b.tagName === "A") {
      e.preventDefault();
      const hash = b.getAttribute("href");
      history.replaceState(history.state, "", hash);
      go(hash.slice(2), true);
    } else if (c.contains("cd-reply")) {
      const open = a.querySelector(":scope>.cd-reply-form");
      if (open) return closeReply(open);
      const nf = composer(+a.dataset.id);
      b.setAttribute("aria-expanded", "true");
      a.querySelector(":scope>footer").after(nf);
      nf.elements.text.focus();
    } else if (c.contains("cd-cancel")) {
      if (f.classList.contains("cd-edit-form")) closeEdit(f);
      else if (f.classList.contains("cd-report-form")) closeReport(f);
      else { a.querySelector(":scope>footer>.cd-reply").focus(); closeReply(f); }
    } else if (c.contains("cd-preview")) {
      if (!f.elements.text.hidden) {
        clear(f);
        busy(b, null, () => api("preview", { method: "POST", body: { text: f.elements.text.value }, signal })
          .then(r => togglePreview(f, r.html), x => fail(f, x)));
      } else { togglePreview(f); f.elements.text.focus(); }
    } else if (c.contains("cd-like")) vote(a, 1);
    else if (c.contains("cd-dislike")) vote(a, -1);
    else if (c.contains("cd-edit")) edit(a, b);
    else if (c.contains("cd-delete")) remove(a);
    else if (c.contains("cd-report")) report(a, b);
    else if (c.contains("cd-more")) loadMore().catch(sayErr);
    else if (c.contains("cd-news")) showNew();
    else if (c.contains("cd-retry")) mount(el, o);
  }, on);
  sr.addEventListener("submit", e => {
    e.preventDefault();
    const f = e.target;
    if (f.classList.contains("cd-edit-form")) saveEdit(f);
    else if (f.classList.contains("cd-report-form")) sendReport(f);
    else post(f);
  }, on);
  sr.addEventListener("keydown", e => e.key === "Escape" && e.target.form?.querySelector(".cd-cancel")?.click(), on);
  sr.addEventListener("input", e => {
    const x = e.target;
    // The error said what was wrong with this field; once it is changed, the error goes.
    if (x.getAttribute("aria-invalid")) x.form.querySelector(".cd-error").textContent = "";
    x.removeAttribute("aria-invalid");
    if (x.name === "text") count(x);
    // The reader started writing: a challenge, if one is needed, is solved while they type.
    if (!pw && /^(s|a)/.test(cfg.proof_of_work) && x.form.matches(".cd-composer")) pw = api("challenge?voter=" + me(), { signal }).then(r => r.challenge && solve(r.challenge)).catch(() => null);
    if (x.name === "email") for (const n of [x.form.elements.notify, x.form.elements.notify_thread]) if (n) {
      n.disabled = !x.value.trim();
      if (n.disabled) n.checked = false;
    }
  }, on);
  sr.addEventListener("change", e => {
    if (!e.target.classList.contains("cd-sort")) return;
    sort = e.target.value;
    cursor = null;
    gen++;
    page().then(show, sayErr);
  }, on);
  start().catch(e => e.name !== "AbortError" && console.error("commentd:", e));
}

window.commentd = Object.assign(window.commentd || {}, { mount, unmount, count: counts });
const init = () => {
  const el = document.getElementById("commentd");
  if (el) mount(el);
  counts().catch(() => {});
};
document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", init) : init();
})();
