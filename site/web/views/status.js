// Status view: which region served this page and its assets, whether the edge
// answered from its cache, the release the page belongs to, and each region's
// API health. It checks every POLL_MS while the view shows and the tab is
// visible, and stops (timers cleared, requests aborted) when either ends.
//
// The headers of the page load itself are not exposed to scripts, so the view
// asks the edge again: HEAD /index.html and HEAD each stylesheet and script the
// document loaded, bypassing the browser cache. Each region is asked through
// its pinned path /api/r/<region>/health (never failed over by the edge), for
// every region /api/health lists; when /api/health does not answer, the last
// list it gave is used and the view says so.
//
// Nothing is invented: a value missing from a response shows as "unknown", a
// request that fails shows its status or "no answer".

const POLL_MS = 5000;
// A request the edge holds longer than this (a blackholed region) counts as no
// answer; the next check asks again.
const TIMEOUT_MS = 4000;
const REGION = /^[a-z0-9-]{1,40}$/;
const LIST_KEY = "twinedge.regions";
const UNKNOWN = "unknown";

// headers maps a fact of a HEAD answer to the response header it shows.
const headers = {
  region: "x-amz-meta-region",
  cache: "x-cache",
  age: "age",
  pop: "x-amz-cf-pop",
  release: "x-amz-meta-release",
};

let root = null; // the section, while the view shows
let run = null; // AbortController of the check in progress
let timer = 0;
let last = null; // what the previous check saw, for announcing changes
let known = null; // the last region list /api/health gave
let rounds = 0;
let bound = false;

// ask fetches url with a deadline; it resolves to the Response or to an Error
// saying why there was none, and rejects only when the view stopped the check.
async function ask(url, method, signal) {
  const c = new AbortController();
  const stop = () => c.abort();
  signal.addEventListener("abort", stop);
  const t = setTimeout(stop, TIMEOUT_MS);
  try {
    return await fetch(url, { method, cache: "no-store", signal: c.signal });
  } catch (e) {
    if (signal.aborted) throw e;
    return new Error(c.signal.aborted ? "no answer in " + TIMEOUT_MS / 1000 + " s" : "no answer");
  } finally {
    clearTimeout(t);
    signal.removeEventListener("abort", stop);
  }
}

// head returns the facts of one HEAD answer: answer (status or error) and the
// headers above, null when absent.
async function head(url, signal) {
  const res = await ask(url, "HEAD", signal);
  const f = { ok: false, answer: res instanceof Error ? res.message : String(res.status) };
  for (const k of Object.keys(headers)) f[k] = res instanceof Error ? null : res.headers.get(headers[k]);
  f.ok = !(res instanceof Error) && res.ok;
  return f;
}

// health asks one health endpoint: {ok, text, region, regions}.
async function health(url, signal) {
  const res = await ask(url, "GET", signal);
  if (res instanceof Error) return { ok: false, text: res.message, region: null, regions: null };
  let body = null;
  if ((res.headers.get("content-type") || "").includes("json")) body = await res.json().catch(() => null);
  const region = body && typeof body.region === "string" && REGION.test(body.region) ? body.region : null;
  let regions = body && Array.isArray(body.regions) ? body.regions.filter((r) => typeof r === "string" && REGION.test(r)) : null;
  if (regions && !regions.length) regions = null;
  return { ok: res.ok, text: (res.ok ? "healthy" : "unhealthy") + " · " + res.status, region, regions };
}

// assets lists the same-origin stylesheets and scripts the document loaded.
function assets() {
  const out = [];
  for (const el of document.querySelectorAll('link[rel~="stylesheet"][href], script[src]')) {
    const u = new URL(el.getAttribute("href") || el.getAttribute("src"), location.href);
    if (u.origin === location.origin && !out.includes(u.pathname)) out.push(u.pathname);
  }
  return out;
}

// The last list lives in sessionStorage, so a reload during an outage still
// knows the regions. (localStorage's first write can block for a long while.)
function remember(list) {
  known = list;
  try {
    sessionStorage.setItem(LIST_KEY, JSON.stringify(list));
  } catch {}
}

function remembered() {
  if (known) return known;
  try {
    const l = JSON.parse(sessionStorage.getItem(LIST_KEY));
    if (Array.isArray(l) && l.length && l.every((r) => typeof r === "string" && REGION.test(r))) return l;
  } catch {}
  return null;
}

// regions asks /api/health for the list, then every region's pinned path.
async function regions(signal) {
  const api = await health("/api/health", signal);
  let list = api.regions;
  let note = "";
  if (list) remember(list);
  else {
    list = remembered();
    note = list
      ? "/api/health did not list the regions (" + api.text + "); showing the last list it gave."
      : "/api/health did not list the regions (" + api.text + "), and no earlier list is known.";
  }
  const pinned = list ? await Promise.all(list.map((r) => health("/api/r/" + r + "/health", signal))) : [];
  return { api, list: list || [], pinned, note };
}

// clock is the local time as HH:MM:SS. toLocaleTimeString would load the
// locale's date formats on first use, a long task on a slow device.
function clock() {
  const d = new Date();
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

function setText(el, text, cls) {
  if (!el) return;
  if (el.textContent !== text) el.textContent = text;
  if (cls !== undefined && el.className !== cls) el.className = cls;
}

function field(name, value) {
  setText(root.querySelector('[data-field="' + name + '"]'), value || UNKNOWN);
}

// rows makes tbody hold n rows of cells (a row header then n-1 cells), reusing
// the ones already there.
function rows(tbody, n, cells) {
  while (tbody.rows.length > n) tbody.lastElementChild.remove();
  while (tbody.rows.length < n) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    tr.append(th);
    for (let i = 1; i < cells; i++) tr.append(document.createElement("td"));
    tbody.append(tr);
  }
  return [...tbody.rows];
}

function fill(tr, values, cls) {
  [...tr.cells].forEach((c, i) => setText(c, values[i] || UNKNOWN, i === values.length - 1 ? cls : undefined));
}

function render(page, files, reg) {
  field("answer", page.answer);
  for (const k of Object.keys(headers)) field(k, page[k]);

  const at = root.querySelector("#asset-status tbody");
  if (at) {
    rows(at, files.length, 4).forEach((tr, i) => {
      const [url, f] = files[i];
      tr.dataset.asset = url;
      fill(tr, [url.split("/").pop(), f.answer, f.region, f.cache]);
    });
  }

  const ht = root.querySelector("#region-health tbody");
  if (ht) {
    const n = Math.max(reg.list.length, 1);
    rows(ht, n, 3).forEach((tr, i) => {
      const r = reg.list[i];
      tr.dataset.region = r || "";
      if (!r) return fill(tr, [UNKNOWN, UNKNOWN, UNKNOWN], "");
      const h = reg.pinned[i];
      fill(tr, [r, i === 0 ? "primary" : "secondary", h.text], h.ok ? "ok" : "bad");
    });
  }
  setText(root.querySelector("[data-health-note]"), reg.note ||
    "Each region is asked through its own pinned path, /api/r/<region>/health, which never fails over.",
    reg.note ? "bad" : "muted");
  field("api", reg.api.text + (reg.api.region ? " · answered by " + reg.api.region : ""));
}

// changes lists, in words, what differs from the previous check.
function changes(now) {
  const out = [];
  if (!last) return out;
  if (now.region !== last.region) out.push("This page is now served by " + (now.region || "an unknown region") + ".");
  if (now.release !== last.release) out.push("Release is now " + (now.release || UNKNOWN) + ".");
  for (const [r, h] of Object.entries(now.health)) {
    if (last.health[r] !== undefined && last.health[r] !== h) out.push(r + " is now " + h + ".");
  }
  return out;
}

async function check() {
  if (!root) return;
  clearTimeout(timer);
  timer = 0;
  if (run) run.abort();
  const ctrl = (run = new AbortController());
  const signal = ctrl.signal;
  try {
    const list = assets();
    const [page, files, reg] = await Promise.all([
      head("/index.html", signal),
      Promise.all(list.map(async (u) => [u, await head(u, signal)])),
      regions(signal),
    ]);
    if (signal.aborted) return;
    render(page, files, reg);
    const now = { region: page.region, release: page.release, health: {} };
    reg.list.forEach((r, i) => (now.health[r] = reg.pinned[i].ok ? "healthy" : "unhealthy"));
    const said = changes(now);
    if (said.length) setText(root.querySelector("[data-changes]"), clock() + ": " + said.join(" "));
    last = now;
    rounds++;
    root.dataset.rounds = String(rounds);
    setText(root.querySelector("[data-checked]"), "Checked at " + clock() + ".");
  } catch (e) {
    if (signal.aborted) return;
    setText(root.querySelector("[data-checked]"), "The check failed: " + e.message);
  } finally {
    if (run === ctrl) {
      run = null;
      schedule();
    }
  }
}

function schedule() {
  clearTimeout(timer);
  timer = root && document.visibilityState === "visible" ? setTimeout(check, POLL_MS) : 0;
}

function stop() {
  clearTimeout(timer);
  timer = 0;
  if (run) run.abort();
  run = null;
}

function onVisibility() {
  if (document.visibilityState === "visible") check();
  else stop();
}

export default {
  name: "status",
  path: "/status",
  title: "Status",
  enter(el) {
    stop();
    root = el;
    if (!bound) {
      const btn = el.querySelector("[data-refresh]");
      if (btn) btn.addEventListener("click", check);
      bound = true;
    }
    document.addEventListener("visibilitychange", onVisibility);
    if (document.visibilityState === "visible") check();
  },
  leave() {
    document.removeEventListener("visibilitychange", onVisibility);
    stop();
    root = null;
    last = null;
  },
};
