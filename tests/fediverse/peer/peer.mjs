// A real ActivityPub server for commentd's tests: one Fedify actor on 127.0.0.1, playing a
// remote instance (think: a Mastodon account), plus a JSON control API under /control/ that
// the Python driver (tests/fediverse/peer.py) uses to make it act and to see what it received.
//
//   node peer.mjs --port 18601 [--name "Alice Peer"] [--handle alice]
//
// Signatures: Fedify 1.5.9 signs every delivery with draft-cavage HTTP Signatures only
// (Signature: keyId="…#main-key",algorithm="rsa-sha256",headers="(request-target) …
// content-type digest host date", RSASSA-PKCS1-v1_5 over SHA-256), as Mastodon does. RFC 9421
// and double-knocking arrived in Fedify 1.6, so there is nothing to turn off here. Like
// Mastodon, the body also carries a Linked Data Signature (`signature`, RsaSignature2017),
// because the actor has an RSA key; with no Ed25519 key there is no FEP-8b32 `proof`.
//
// Incoming activities: Fedify verifies the LD signature or, failing that, the HTTP signature
// (401 "Failed to verify the request signature." otherwise), checks that the signer owns the
// activity's actor (401 "The signer and the actor do not match."), and only then calls the
// listeners below, which record the activity in memory.
//
// Set FEDIFY_PEER_DEBUG=1 to see Fedify's own debug log on stderr.

import http from "node:http";
import process from "node:process";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import {
  Accept,
  Activity,
  Announce,
  Create,
  createFederation,
  Delete,
  Endpoints,
  Follow,
  generateCryptoKeyPair,
  Image,
  isActor,
  Like,
  Mention,
  MemoryKvStore,
  Note,
  PUBLIC_COLLECTION,
  Person,
  Reject,
  Tombstone,
  Undo,
  Update,
} from "@fedify/fedify";
import { Temporal } from "@js-temporal/polyfill";
import { configure, getConsoleSink } from "@logtape/logtape";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    name: { type: "string", default: "Alice Peer" },
    handle: { type: "string", default: "alice" },
  },
});
const port = Number(args.port);
if (!Number.isInteger(port) || port <= 0) {
  process.stderr.write("usage: node peer.mjs --port P [--name NAME] [--handle alice]\n");
  process.exit(2);
}
const HANDLE = args.handle;
const BASE = `http://127.0.0.1:${port}`;
const quiet = !process.env.FEDIFY_PEER_DEBUG;

await configure({
  sinks: { stderr: getConsoleSink({ console: { ...console, debug: console.error, info: console.error, log: console.error } }) },
  loggers: [
    { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    { category: "fedify", sinks: quiet ? [] : ["stderr"], lowestLevel: "debug" },
  ],
});

function log(...parts) {
  if (!quiet) process.stderr.write(`[peer ${HANDLE}@${port}] ${parts.join(" ")}\n`);
}

// ---- state, all in memory -------------------------------------------------------------

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5");
/** id -> { note fields, recipients: Actor[], deleted: Temporal.Instant | null } */
const notes = new Map();
/** activity id -> { activity, recipients } for everything alice sent (served at its id) */
const sent = new Map();
/** actor id -> Actor object of everyone following alice */
const followers = new Map();
/** what alice's inboxes received, in order */
let received = [];
/** activity id -> { json, headers } of the raw POST that carried it to an inbox */
const rawById = new Map();

// A 1x1 transparent PNG, alice's avatar.
const AVATAR = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "base64",
);

// ---- the federation -------------------------------------------------------------------

// Fedify's store: remote documents (cached 5 minutes), public keys, and the ids of the
// activities already processed. POST /control/reset {"cache": true} swaps in an empty one.
const kv = {
  store: new MemoryKvStore(),
  get(key) {
    return this.store.get(key);
  },
  set(key, value, options) {
    return this.store.set(key, value, options);
  },
  delete(key) {
    return this.store.delete(key);
  },
};

const federation = createFederation({
  kv,
  // loopback, plain http: documents and contexts may come from 127.0.0.1
  allowPrivateAddress: true,
  origin: BASE,
});

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== HANDLE) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: args.name,
      summary: `<p>${args.name}, a Fedify peer in commentd's tests.</p>`,
      url: new URL(`/@${identifier}`, BASE),
      icon: new Image({ url: new URL("/avatar.png", BASE), mediaType: "image/png" }),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      followers: ctx.getFollowersUri(identifier),
      manuallyApprovesFollowers: false,
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((key) => key.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) => (identifier === HANDLE ? [keyPair] : []));

federation.setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
  if (identifier !== HANDLE) return null;
  return { items: [...followers.values()] };
});

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (ctx, values) => {
  if (values.identifier !== HANDLE) return null;
  const entry = notes.get(ctx.getObjectUri(Note, values).href);
  if (entry == null || entry.deleted != null) return null;
  return buildNote(entry);
});

async function record(ctx, activity) {
  const json = await activity.toJsonLd({ contextLoader: ctx.contextLoader });
  const raw = activity.id == null ? null : rawById.get(activity.id.href);
  const entry = {
    type: Array.isArray(json.type) ? json.type[0] : json.type,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    object: json.object ?? null,
    inbox: ctx.recipient == null ? "shared" : ctx.recipient,
    // Fedify's compacted re-serialization of what it parsed
    activity: json,
    // the body exactly as POSTed, and the headers that authenticated it
    raw: raw?.json ?? null,
    headers: raw?.headers ?? null,
    received_at: new Date().toISOString(),
  };
  received.push(entry);
  log("received", entry.type, entry.id, "from", entry.actor);
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, async (ctx, follow) => {
    await record(ctx, follow);
    if (follow.objectId?.href !== ctx.getActorUri(HANDLE).href) return;
    const follower = await follow.getActor(ctx);
    if (follower == null || follower.id == null) return;
    followers.set(follower.id.href, follower);
    await ctx.sendActivity(
      { identifier: HANDLE },
      follower,
      // the Follow as Mastodon embeds it: its actor and object as bare ids
      new Accept({
        id: newActivityId(),
        actor: ctx.getActorUri(HANDLE),
        object: new Follow({ id: follow.id, actor: follow.actorId, object: follow.objectId }),
      }),
    );
  })
  .on(Undo, async (ctx, undo) => {
    await record(ctx, undo);
    const inner = await undo.getObject(ctx).catch(() => null);
    if (inner instanceof Follow && undo.actorId != null) followers.delete(undo.actorId.href);
  })
  .on(Accept, record)
  .on(Reject, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, async (ctx, del) => {
    await record(ctx, del);
    if (del.actorId != null && del.objectId?.href === del.actorId.href) {
      followers.delete(del.actorId.href);
    }
  })
  .on(Like, record)
  .on(Announce, record)
  // any other activity type (Fedify walks the class chain up to Activity)
  .on(Activity, record)
  .onError((_ctx, error) => {
    process.stderr.write(`[peer ${HANDLE}@${port}] inbox error: ${error?.stack ?? error}\n`);
  });

// ---- building and sending -------------------------------------------------------------

function newActivityId() {
  return new URL(`/users/${HANDLE}/activities/${randomUUID()}`, BASE);
}

function buildNote(entry) {
  return new Note({
    id: new URL(entry.id),
    attribution: new URL(`/users/${HANDLE}`, BASE),
    content: entry.content,
    summary: entry.summary ?? null,
    replyTarget: entry.inReplyTo == null ? null : new URL(entry.inReplyTo),
    to: PUBLIC_COLLECTION,
    ccs: [new URL(`/users/${HANDLE}/followers`, BASE), ...entry.mentions.map((m) => new URL(m))],
    tags: entry.mentions.map((m) => new Mention({ href: new URL(m) })),
    published: entry.published,
    updated: entry.updated ?? null,
    url: new URL(`/@${HANDLE}/${entry.id.split("/").pop()}`, BASE),
  });
}

async function lookupActor(ctx, url) {
  if (typeof url !== "string" || url === "") throw new ControlError(400, "an actor URL is required");
  let actor;
  try {
    actor = await ctx.lookupObject(url);
  } catch (error) {
    throw new ControlError(502, `could not fetch actor ${url}: ${error?.message ?? error}`);
  }
  if (actor == null) {
    throw new ControlError(502, `could not fetch actor ${url} (not found, not JSON-LD Fedify can read, or not an ActivityStreams object)`);
  }
  if (!isActor(actor)) {
    throw new ControlError(502, `${url} is not an actor (got ${actor.constructor.name})`);
  }
  if (actor.inboxId == null) throw new ControlError(502, `actor ${url} has no inbox`);
  return actor;
}

async function deliver(ctx, recipients, activity) {
  sent.set(activity.id.href, { activity, recipients });
  if (recipients.length === 0) return;
  try {
    await ctx.sendActivity({ identifier: HANDLE }, recipients, activity, { preferSharedInbox: true });
  } catch (error) {
    throw new ControlError(502, `delivery failed: ${error?.message ?? error}`);
  }
  log("sent", activity.constructor.name, activity.id.href, "to", recipients.map((r) => r.id?.href).join(" "));
}

class ControlError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function noteEntry(id) {
  const entry = notes.get(id);
  if (entry == null) throw new ControlError(404, `no note ${id} by ${HANDLE}`);
  return entry;
}

function sentEntry(id) {
  const entry = sent.get(id);
  if (entry == null) throw new ControlError(404, `${HANDLE} sent no activity ${id}`);
  return entry;
}

async function recipientsFor(ctx, body, fallback) {
  if (body.to != null) return [await lookupActor(ctx, body.to)];
  return fallback;
}

const control = {
  "GET health": async (ctx) => ({ ok: true, actor: ctx.getActorUri(HANDLE).href }),

  "GET inbox": async () => ({ activities: received }),

  "POST reset": async (_ctx, body) => {
    received = [];
    rawById.clear();
    if (body.cache) kv.store = new MemoryKvStore();
    return { ok: true };
  },

  // How Fedify understands a remote document: the class it parsed, its re-serialization,
  // and for an actor the public keys it found (none: it could not verify that actor).
  "POST lookup": async (ctx, body) => {
    if (typeof body.url !== "string") throw new ControlError(400, "url is required");
    let object;
    try {
      object = await ctx.lookupObject(body.url);
    } catch (error) {
      throw new ControlError(502, `could not fetch ${body.url}: ${error?.message ?? error}`);
    }
    if (object == null) throw new ControlError(502, `could not fetch ${body.url}`);
    const result = { type: object.constructor.name, object: await object.toJsonLd({ contextLoader: ctx.contextLoader }) };
    if (isActor(object)) {
      result.actor = true;
      result.inbox = object.inboxId?.href ?? null;
      result.sharedInbox = object.endpoints?.sharedInbox?.href ?? null;
      result.publicKeys = [];
      for await (const key of object.getPublicKeys(ctx)) {
        result.publicKeys.push({ id: key.id?.href ?? null, owner: key.ownerId?.href ?? null });
      }
    } else {
      result.actor = false;
    }
    return result;
  },

  "GET followers": async () => ({ followers: [...followers.keys()] }),

  "POST webfinger": async (_ctx, body) => {
    const resource = body.resource;
    if (typeof resource !== "string") throw new ControlError(400, "resource is required");
    // Fedify's lookupWebFinger() always builds https:// URLs for acct: resources; the
    // instances in these tests speak plain http on loopback, so ask them directly.
    let host;
    if (resource.startsWith("acct:")) {
      host = resource.slice(resource.lastIndexOf("@") + 1);
    } else {
      host = new URL(resource).host;
    }
    const url = new URL(`http://${host}/.well-known/webfinger`);
    url.searchParams.set("resource", resource);
    let response;
    try {
      response = await fetch(url, { headers: { Accept: "application/jrd+json" } });
    } catch (error) {
      throw new ControlError(502, `GET ${url} failed: ${error?.cause?.message ?? error?.message ?? error}`);
    }
    const text = await response.text();
    if (!response.ok) throw new ControlError(502, `GET ${url} answered ${response.status}: ${text}`);
    let jrd;
    try {
      jrd = JSON.parse(text);
    } catch {
      throw new ControlError(502, `GET ${url} answered with something other than JSON: ${text.slice(0, 200)}`);
    }
    const self = (jrd.links ?? []).find(
      (link) =>
        link.rel === "self" &&
        (link.type === "application/activity+json" ||
          (link.type ?? "").startsWith('application/ld+json; profile="https://www.w3.org/ns/activitystreams"')),
    );
    return { jrd, actor: self?.href ?? null, content_type: response.headers.get("content-type") };
  },

  "POST follow": async (ctx, body) => {
    const actor = await lookupActor(ctx, body.actor);
    const follow = new Follow({ id: newActivityId(), actor: ctx.getActorUri(HANDLE), object: actor.id });
    await deliver(ctx, [actor], follow);
    return { id: follow.id.href };
  },

  "POST unfollow": async (ctx, body) => {
    const actor = await lookupActor(ctx, body.actor);
    const follow = [...sent.values()]
      .map((s) => s.activity)
      .reverse()
      .find((a) => a instanceof Follow && a.objectId?.href === actor.id.href);
    if (follow == null) throw new ControlError(404, `${HANDLE} never followed ${actor.id.href}`);
    const undo = new Undo({ id: newActivityId(), actor: ctx.getActorUri(HANDLE), object: follow });
    await deliver(ctx, [actor], undo);
    return { id: undo.id.href, follow: follow.id.href };
  },

  "POST post": async (ctx, body) => {
    const recipients = body.to != null ? [await lookupActor(ctx, body.to)] : [...followers.values()];
    return await createNote(ctx, body, null, recipients);
  },

  "POST reply": async (ctx, body) => {
    if (typeof body.inReplyTo !== "string") throw new ControlError(400, "inReplyTo is required");
    const target = await lookupActor(ctx, body.to);
    return await createNote(ctx, body, body.inReplyTo, [target]);
  },

  "POST update": async (ctx, body) => {
    const entry = noteEntry(body.note);
    if (typeof body.content !== "string") throw new ControlError(400, "content is required");
    entry.content = body.content;
    if ("summary" in body) entry.summary = body.summary;
    entry.updated = Temporal.Now.instant();
    const update = new Update({
      id: newActivityId(),
      actor: ctx.getActorUri(HANDLE),
      object: buildNote(entry),
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(HANDLE), ...entry.mentions.map((m) => new URL(m))],
    });
    await deliver(ctx, await recipientsFor(ctx, body, entry.recipients), update);
    return { id: update.id.href, note: entry.id };
  },

  "POST delete": async (ctx, body) => {
    const entry = noteEntry(body.note);
    entry.deleted = Temporal.Now.instant();
    const del = new Delete({
      id: newActivityId(),
      actor: ctx.getActorUri(HANDLE),
      object: new Tombstone({ id: new URL(entry.id) }),
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(HANDLE), ...entry.mentions.map((m) => new URL(m))],
    });
    await deliver(ctx, await recipientsFor(ctx, body, entry.recipients), del);
    return { id: del.id.href, note: entry.id };
  },

  "POST like": async (ctx, body) => {
    if (typeof body.object !== "string") throw new ControlError(400, "object is required");
    const target = await lookupActor(ctx, body.to);
    const like = new Like({ id: newActivityId(), actor: ctx.getActorUri(HANDLE), object: new URL(body.object) });
    await deliver(ctx, [target], like);
    return { id: like.id.href };
  },

  "POST announce": async (ctx, body) => {
    if (typeof body.object !== "string") throw new ControlError(400, "object is required");
    const target = await lookupActor(ctx, body.to);
    const announce = new Announce({
      id: newActivityId(),
      actor: ctx.getActorUri(HANDLE),
      object: new URL(body.object),
      to: PUBLIC_COLLECTION,
      ccs: [ctx.getFollowersUri(HANDLE), target.id],
      published: Temporal.Now.instant(),
    });
    await deliver(ctx, [target], announce);
    return { id: announce.id.href };
  },

  "POST undo": async (ctx, body) => {
    const { activity } = sentEntry(body.activity);
    if (!(activity instanceof Like || activity instanceof Announce || activity instanceof Follow)) {
      throw new ControlError(400, `${body.activity} is a ${activity.constructor.name}: only a Like, Announce or Follow can be undone`);
    }
    const target = body.to != null ? await lookupActor(ctx, body.to) : null;
    const recipients = target != null ? [target] : sent.get(body.activity).recipients;
    const undo = new Undo({ id: newActivityId(), actor: ctx.getActorUri(HANDLE), object: activity });
    await deliver(ctx, recipients, undo);
    return { id: undo.id.href };
  },

  "POST delete-actor": async (ctx, body) => {
    const recipients = body.to != null ? [await lookupActor(ctx, body.to)] : [...followers.values()];
    const del = new Delete({
      // Mastodon's id is <actor>#delete; a unique one keeps the receiver's idempotence
      // check (Fedify's, or commentd's) from swallowing a second deletion in one session
      id: new URL(`/users/${HANDLE}#delete-${randomUUID()}`, BASE),
      actor: ctx.getActorUri(HANDLE),
      object: ctx.getActorUri(HANDLE),
      to: PUBLIC_COLLECTION,
    });
    await deliver(ctx, recipients, del);
    return { id: del.id.href };
  },
};

async function createNote(ctx, body, inReplyTo, recipients) {
  if (typeof body.content !== "string") throw new ControlError(400, "content is required");
  const id = new URL(`/users/${HANDLE}/notes/${randomUUID()}`, BASE).href;
  const entry = {
    id,
    content: body.content,
    summary: body.summary ?? null,
    inReplyTo,
    mentions: recipients.map((r) => r.id.href),
    published: Temporal.Now.instant(),
    updated: null,
    deleted: null,
    recipients,
  };
  notes.set(id, entry);
  const create = new Create({
    id: new URL(`${id}/activity`),
    actor: ctx.getActorUri(HANDLE),
    object: buildNote(entry),
    to: PUBLIC_COLLECTION,
    ccs: [ctx.getFollowersUri(HANDLE), ...entry.mentions.map((m) => new URL(m))],
    published: entry.published,
  });
  await deliver(ctx, recipients, create);
  return { id, activity: create.id.href };
}

// ---- HTTP -----------------------------------------------------------------------------

function json(status, body, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

async function handle(request) {
  const url = new URL(request.url);
  const path = url.pathname;
  if (path.startsWith("/control/")) {
    const op = control[`${request.method} ${path.slice("/control/".length)}`];
    if (op == null) return json(404, { error: `no control operation ${request.method} ${path}` });
    let body = {};
    if (request.method === "POST") {
      const text = await request.text();
      try {
        body = text === "" ? {} : JSON.parse(text);
      } catch {
        return json(400, { error: "the body is not JSON" });
      }
    }
    const ctx = federation.createContext(request, undefined);
    try {
      return json(200, await op(ctx, body));
    } catch (error) {
      const status = error instanceof ControlError ? error.status : 500;
      if (status >= 500) process.stderr.write(`[peer ${HANDLE}@${port}] ${path}: ${error?.stack ?? error}\n`);
      return json(status, { error: error?.message ?? String(error) });
    }
  }
  if (path === "/avatar.png") {
    return new Response(AVATAR, { headers: { "Content-Type": "image/png" } });
  }
  const noteUrl = `${BASE}${path}`;
  const entry = notes.get(noteUrl);
  if (entry?.deleted != null) {
    const tombstone = new Tombstone({ id: new URL(noteUrl), deleted: entry.deleted });
    return json(410, await tombstone.toJsonLd(), "application/activity+json");
  }
  if (sent.has(noteUrl)) {
    return json(200, await sent.get(noteUrl).activity.toJsonLd(), "application/activity+json");
  }
  if (path === `/@${HANDLE}` || path.startsWith(`/@${HANDLE}/`)) {
    const html = `<!doctype html><title>${args.name}</title><link rel="alternate" type="application/activity+json" href="${BASE}/users/${HANDLE}"><h1>${args.name}</h1>`;
    return new Response(html, { headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
  if (request.method === "POST" && (path === "/inbox" || path === `/users/${HANDLE}/inbox`)) {
    try {
      const body = JSON.parse(await request.clone().text());
      if (typeof body?.id === "string") {
        const headers = {};
        for (const name of ["signature", "signature-input", "digest", "content-digest", "date", "host", "content-type"]) {
          if (request.headers.has(name)) headers[name] = request.headers.get(name);
        }
        rawById.set(body.id, { json: body, headers });
      }
    } catch {
      // not JSON: Fedify answers 400 itself
    }
  }
  return await federation.fetch(request, {
    contextData: undefined,
    onNotFound: () => new Response("Not found", { status: 404, headers: { "Content-Type": "text/plain" } }),
    onNotAcceptable: () =>
      new Response("Not acceptable: ask for application/activity+json", { status: 406, headers: { "Content-Type": "text/plain", Vary: "Accept" } }),
  });
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new Request(new URL(req.url, BASE), {
      method: req.method,
      headers,
      body: hasBody ? Buffer.concat(chunks) : undefined,
    });
    const response = await handle(request);
    log(req.method, req.url, "->", response.status);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    process.stderr.write(`[peer ${HANDLE}@${port}] ${req.method} ${req.url}: ${error?.stack ?? error}\n`);
    if (!res.headersSent) res.writeHead(500, { "Content-Type": "application/json" });
    res.end(JSON.stringify({ error: String(error?.message ?? error) }));
  }
});

server.listen(port, "127.0.0.1", () => log("listening on", BASE));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
