// Message board on the home view: the talk's demo. Each message shows the
// region that accepted it and the region the latest read came from.
//
// Reading: GET /api/messages every POLL_MS through the edge (its origin group
// fails reads over to the secondary region), merged by message id, so a message
// shows once however many reads return it.
//
// Writing: CloudFront allows only GET, HEAD and OPTIONS on a behaviour bound to
// an origin group and never fails a POST over, so POST /api/messages at the edge
// is refused (403). Every write goes to a region-pinned path instead: first
// /api/r/<primary>/messages; when that fails (no answer, 5xx, or the
// 403/404/408/429 a failed region or a throttle gives), the same body, with the
// same id, is sent once to /api/r/<secondary>/messages. The id makes the retry
// safe: if the first write had landed, the API answers 200 with the stored
// message instead of storing it twice. Answers the other region would repeat
// (400, 409, 413, 415) are not retried.
//
// The regions come from the release, not from this file: the page carries them,
// primary first, in <meta name="twinedge-regions"> (site.Options.Regions), so the
// page and the regions it posts to always belong to the same release.
//
// Function URLs behind CloudFront's origin access control need the body's
// SHA-256 in x-amz-content-sha256 (Lambda accepts no unsigned payloads).
//
// All user text goes into the page with textContent, never as HTML.

const POLL_MS = 2000;
const LIMIT = 20;
// The API's limits (api/message.go), mirrored for maxlength.
const MAX_AUTHOR = 64;
const MAX_TEXT = 1000;

const css = `
.board { margin: 2rem 0; }
.board form { display: grid; gap: 0.6rem; margin: 0 0 1rem; }
.board label { font-weight: 600; }
.board input, .board textarea {
  font: inherit; color: var(--text); background: var(--bg);
  border: 1px solid var(--muted); border-radius: var(--radius); padding: 0.5rem 0.7rem; width: 100%;
}
.board textarea { min-height: 4.5rem; resize: vertical; }
.board-status { min-height: 1.6em; margin: 0; }
.board-status.bad { color: var(--bad); }
.board-status.ok { color: var(--ok); }
.board table { width: 100%; border-collapse: collapse; table-layout: fixed; }
.board caption { text-align: left; color: var(--muted); padding-bottom: 0.4rem; }
.board th, .board td { text-align: left; vertical-align: top; padding: 0.45rem 0.5rem; border-bottom: 1px solid var(--border); overflow-wrap: anywhere; }
.board th:nth-child(n+2), .board td:nth-child(n+2) { width: 7.5rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.9em; }
.board .author { font-weight: 600; margin-right: 0.4rem; }
.board .text { white-space: pre-wrap; }
`;

let sheetAdded = false;

function addStyles() {
  // A constructed sheet keeps the board's styles with the board and needs no
  // inline style attribute (which a Content-Security-Policy may forbid).
  if (sheetAdded || !("adoptedStyleSheets" in document)) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(css);
  document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
  sheetAdded = true;
}

function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  e.append(...children);
  return e;
}

const hex = (bytes) => [...bytes].map((x) => x.toString(16).padStart(2, "0")).join("");

// uuidv7 returns a time-ordered UUID (RFC 9562 §5.7): 48 bits of Unix
// milliseconds, then random bits, with the version and variant set.
export function uuidv7() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  let ms = Date.now();
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = hex(b);
  return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
}

// sha256Hex hashes the body for x-amz-content-sha256. SubtleCrypto exists only in
// secure contexts (HTTPS, localhost); a local world opened over plain HTTP from
// another machine has none, so a small FIPS 180-4 implementation stands in.
async function sha256Hex(text) {
  const data = new TextEncoder().encode(text);
  if (globalThis.crypto && crypto.subtle) {
    return hex(new Uint8Array(await crypto.subtle.digest("SHA-256", data)));
  }
  return hex(sha256(data));
}

// sha256 is FIPS 180-4 SHA-256 of bytes. The constants are the fractional parts
// of the square roots (H) and cube roots (K) of the first primes, computed here
// rather than listed.
function sha256(bytes) {
  const primes = [];
  for (let n = 2; primes.length < 64; n++) {
    if (primes.every((p) => n % p)) primes.push(n);
  }
  const frac = (x) => ((x - Math.floor(x)) * 2 ** 32) >>> 0;
  const K = primes.map((p) => frac(Math.cbrt(p)));
  const H = primes.slice(0, 8).map((p) => frac(Math.sqrt(p)));
  const bitLen = bytes.length * 8;
  const padded = new Uint8Array(Math.ceil((bytes.length + 9) / 64) * 64);
  padded.set(bytes);
  padded[bytes.length] = 0x80;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bitLen / 2 ** 32));
  view.setUint32(padded.length - 4, bitLen >>> 0);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, h] = H;
    for (let i = 0; i < 64; i++) {
      const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      [h, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    [a, b, c, d, e, f, g, h].forEach((v, i) => (H[i] = (H[i] + v) >>> 0));
  }
  const out = new Uint8Array(32);
  H.forEach((v, i) => new DataView(out.buffer).setUint32(i * 4, v));
  return out;
}

// retryable says whether a failed write should be tried in the other region.
export function retryable(status) {
  return status === 0 || status >= 500 || [403, 404, 408, 429].includes(status);
}

async function errorText(res) {
  try {
    const body = await res.json();
    if (body && typeof body.error === "string") return body.error;
    if (body && typeof body.message === "string") return body.message;
    if (body && typeof body.Message === "string") return body.Message;
  } catch (e) {
    // not JSON: fall through
  }
  return "HTTP " + res.status;
}

// send posts one body to url; it resolves to {status, message?, error?} and
// never throws (status 0 means no answer).
async function send(url, body, hash) {
  try {
    const res = await fetch(url, {
      method: "POST",
      cache: "no-store",
      headers: { "content-type": "application/json", "x-amz-content-sha256": hash },
      body,
    });
    if (res.status === 200 || res.status === 201) {
      return { status: res.status, message: await res.json() };
    }
    return { status: res.status, error: await errorText(res) };
  } catch (e) {
    return { status: 0, error: "no answer" };
  }
}

function describe(r) {
  return r.status === 0 ? "no answer" : r.status + " " + r.error;
}

// releaseRegions returns the release's regions, primary first, from the page's
// <meta name="twinedge-regions">; an empty list when the page names none.
export function releaseRegions(doc = document) {
  const meta = doc.querySelector('meta[name="twinedge-regions"]');
  const list = meta ? meta.content.split(" ").filter(Boolean) : [];
  return list.every((r) => /^[a-z0-9-]{1,40}$/.test(r)) ? list : [];
}

class Board {
  constructor(root) {
    this.root = root;
    this.messages = new Map(); // id → {message, readFrom}
    this.regions = releaseRegions(); // [primary, secondary]
    this.timer = null;
    this.running = false;
    this.pending = null; // {id, author, text} of the last unsent post
    this.ctrl = null;
    this.build();
  }

  build() {
    const author = el("input", { id: "board-author", name: "author", maxLength: MAX_AUTHOR, required: true, autocomplete: "nickname" });
    const text = el("textarea", { id: "board-text", name: "text", maxLength: MAX_TEXT, required: true });
    const submit = el("button", { type: "submit", textContent: "Post" });
    const status = el("p", { className: "board-status", role: "status" });
    const form = el("form", { noValidate: false },
      el("label", { htmlFor: "board-author", textContent: "Your name" }), author,
      el("label", { htmlFor: "board-text", textContent: "Message" }), text,
      el("div", { className: "actions" }, submit, status));
    const tbody = el("tbody");
    const table = el("table", {},
      el("caption", { textContent: "Newest first; the list refreshes every two seconds." }),
      el("thead", {}, el("tr", {},
        el("th", { scope: "col", textContent: "Message" }),
        el("th", { scope: "col", textContent: "Accepted in" }),
        el("th", { scope: "col", textContent: "Read from" }))),
      tbody);
    const readState = el("p", { className: "muted" });
    readState.dataset.boardRead = "";
    const section = el("section", { className: "board" },
      el("h2", { id: "board-title", textContent: "Message board" }),
      el("p", { className: "muted", textContent: "Post a message. Each one shows the region that accepted it and the region your latest read came from; break a region and keep posting." }),
      form, readState, table);
    section.setAttribute("aria-labelledby", "board-title");
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      this.post();
    });
    this.root.replaceChildren(section);
    Object.assign(this, { form, author, text, submit, status, tbody, readState });
  }

  say(text, kind) {
    this.status.textContent = text;
    this.status.className = "board-status" + (kind ? " " + kind : "");
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.poll();
  }

  stop() {
    this.running = false;
    clearTimeout(this.timer);
    if (this.ctrl) this.ctrl.abort();
  }

  async poll() {
    if (!this.running) return;
    this.ctrl = new AbortController();
    try {
      const res = await fetch("/api/messages?limit=" + LIMIT, { cache: "no-store", signal: this.ctrl.signal });
      if (!res.ok) throw new Error(await errorText(res));
      const body = await res.json();
      this.merge(body.messages || [], body.servedBy);
      this.readState.textContent = "Read from " + body.servedBy + " at " + new Date().toLocaleTimeString() + ".";
    } catch (e) {
      if (e.name === "AbortError") return;
      this.readState.textContent = "Reading failed (" + e.message + "); trying again.";
    }
    if (this.running) this.timer = setTimeout(() => this.poll(), POLL_MS);
  }

  merge(list, servedBy) {
    for (const m of list) {
      if (!m || typeof m.id !== "string") continue;
      this.messages.set(m.id, { message: m, readFrom: m.servedBy || servedBy });
    }
    this.render();
  }

  render() {
    const rows = [...this.messages.values()].sort((a, b) =>
      a.message.acceptedAt < b.message.acceptedAt ? 1 : a.message.acceptedAt > b.message.acceptedAt ? -1 : a.message.id < b.message.id ? 1 : -1);
    this.tbody.replaceChildren(...rows.map(({ message: m, readFrom }) => {
      const tr = el("tr", {},
        el("td", {}, el("span", { className: "author", textContent: String(m.author) }), el("span", { className: "text", textContent: String(m.text) })),
        el("td", { textContent: String(m.acceptedIn) }),
        el("td", { textContent: String(readFrom || "") }));
      tr.dataset.id = m.id;
      return tr;
    }));
  }

  async post() {
    const author = this.author.value;
    const text = this.text.value;
    if (!author.trim() || !text.trim()) {
      this.say("Write your name and a message first.", "bad");
      return;
    }
    // Sending the same words again after a failure reuses the id, so a write
    // that did land unseen is not stored twice.
    if (!this.pending || this.pending.author !== author || this.pending.text !== text) {
      this.pending = { id: uuidv7(), author, text };
    }
    const body = JSON.stringify(this.pending);
    this.submit.disabled = true;
    this.say("Sending…");
    try {
      const [primary, secondary] = this.regions;
      if (!primary) {
        this.say("Not sent: this page does not name its regions (it was built without a release). Your message is kept.", "bad");
        return;
      }
      const hash = await sha256Hex(body);
      const first = await send("/api/r/" + primary + "/messages", body, hash);
      let done = first.message ? first : null;
      let landedNote = "";
      if (!done && retryable(first.status)) {
        if (!secondary) {
          this.say("Not sent: the primary region failed (" + describe(first) + ") and the release names no other region. Your message is kept; try again.", "bad");
          return;
        }
        this.say("The primary region failed (" + describe(first) + "); trying " + secondary + "…");
        const second = await send("/api/r/" + secondary + "/messages", body, hash);
        if (!second.message) {
          this.say("Not sent: the primary region failed (" + describe(first) + ") and " + secondary + " failed too (" + describe(second) + "). Your message is kept; try again.", "bad");
          return;
        }
        done = second;
        landedNote = " after the primary region failed (" + describe(first) + ")";
      }
      if (!done) {
        this.say("Not sent: " + describe(first) + ".", "bad");
        return;
      }
      const m = done.message;
      this.pending = null;
      this.text.value = "";
      this.merge([m], m.servedBy);
      this.say((done.status === 201 ? "Posted: accepted in " : "Already posted: accepted in ") + m.acceptedIn + landedNote + ".", "ok");
    } catch (e) {
      this.say("Not sent: " + e.message + ". Your message is kept; try again.", "bad");
    } finally {
      this.submit.disabled = false;
    }
  }
}

let board = null;

// mountBoard renders the board into root (once) and starts reading.
export function mountBoard(root) {
  if (!root) return;
  addStyles();
  if (!board || board.root !== root) board = new Board(root);
  board.start();
}

// unmountBoard stops reading while another view shows.
export function unmountBoard() {
  if (board) board.stop();
}
