/* commentd counts for index pages: fills [data-commentd-count="/uri"] and a[href$="#commentd"]
   with the number of comments, in one request. See docs/embedding.md. */
(() => {
"use strict";
const src = document.currentScript.src;
const get = (path, body) => fetch(new URL(path, src), body ? {
  method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body), credentials: "omit"
} : { credentials: "omit" }).then(r => r.json());
const run = async () => {
  const els = [...document.querySelectorAll("[data-commentd-count],a[href$='#commentd']")];
  if (!els.length) return;
  const uri = e => (e.dataset.commentdCount || e.pathname).trim();
  const wordy = e => e.hasAttribute("data-commentd-count-text");
  // The page's language as embed.js picks it (same list, aliases and traditional Chinese).
  const [l, ...r] = (document.documentElement.lang || navigator.language || "").toLowerCase().split(/[-_]/);
  let lang = { iw: "he", no: "nb", nn: "nb", in: "id" }[l] || l;
  if (lang === "zh" && r.some(x => /^(hant|tw|hk|mo)$/.test(x))) lang = "zh-Hant";
  else if (!"de fr es it pt nl ru ja zh pl ar he fa ko tr uk cs sv da fi nb el hu ro id vi th hi bn ca sk bg".split(" ").includes(lang)) lang = "en";
  // "N comments" in the page's language, for elements with data-commentd-count-text only.
  const [{ counts }, words] = await Promise.all([get("../api/counts", { uris: [...new Set(els.map(uri))].slice(0, 200) }),
    lang !== "en" && els.some(wordy) ? get(`i18n/${lang}.json`).catch(() => ({})) : {}]);
  const forms = window.commentd?.strings?.comments || words.comments || { one: "{n} comment", other: "{n} comments" };
  const pr = new Intl.PluralRules(lang), nf = new Intl.NumberFormat(lang);
  for (const e of els) {
    const n = counts[uri(e)] ?? 0;
    e.textContent = wordy(e) ? (forms[pr.select(n)] || forms.other).replace("{n}", nf.format(n)) : n;
  }
};
document.readyState === "loading" ? document.addEventListener("DOMContentLoaded", run) : run();
})();
