// A minimal client for the demo page, until the real embed arrives. Everything a reader
// typed is set with textContent; only server-sanitized comment HTML goes into innerHTML.
(() => {
  "use strict";
  const section = document.getElementById("commentd");
  const uri = section.dataset.uri;
  const form = document.getElementById("composer");
  const status = document.getElementById("status");
  const list = document.getElementById("thread");
  const replying = document.getElementById("replying");

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };

  function render(comment) {
    const item = el("li", "comment");
    item.id = "c" + comment.id;
    if (comment.status === "deleted") {
      item.append(el("p", "deleted", "(deleted)"));
    } else {
      const meta = el("p", "meta");
      meta.append(el("strong", "", comment.author || "Anonymous"), " · ",
        el("time", "", new Date(comment.created).toLocaleString()));
      const body = el("div", "body");
      body.innerHTML = comment.html; // sanitized by the server (markdown-it-py + nh3)
      const reply = el("button", "reply", "Reply");
      reply.type = "button";
      reply.addEventListener("click", () => {
        form.elements.parent.value = comment.id;
        replying.hidden = false;
        replying.querySelector("span").textContent = comment.author || "Anonymous";
        form.elements.text.focus();
      });
      item.append(meta, body, reply);
    }
    if (comment.replies.length) {
      const sub = el("ol");
      comment.replies.forEach((r) => sub.append(render(r)));
      item.append(sub);
    }
    return item;
  }

  async function load() {
    const res = await fetch("/api/comments?uri=" + encodeURIComponent(uri));
    const data = await res.json();
    document.getElementById("count").textContent = data.thread.total;
    list.replaceChildren(...data.comments.map(render));
  }

  document.getElementById("cancel-reply").addEventListener("click", () => {
    form.elements.parent.value = "";
    replying.hidden = true;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.textContent = "Posting…";
    const body = { text: form.elements.text.value, author: form.elements.author.value || null };
    if (form.elements.parent.value) body.parent = Number(form.elements.parent.value);
    try {
      const res = await fetch("/api/comments?uri=" + encodeURIComponent(uri), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      const data = await res.json();
      if (!res.ok) throw new Error(data.error.message);
      form.elements.text.value = "";
      form.elements.parent.value = "";
      replying.hidden = true;
      status.textContent = "Posted.";
      await load();
    } catch (err) {
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });

  load();
})();
