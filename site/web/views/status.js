// Status view: which region served this page and whether the edge answered
// from its cache. The headers of the navigation itself are not exposed to
// scripts, so the view asks the edge for /index.html again (HEAD, bypassing the
// browser cache) and reports what that answer says. Every value is shown as
// "unknown" when the header is absent: nothing here is invented.

// fields maps a data-field name in the markup to the response header it shows.
const fields = {
  region: "x-amz-meta-region",
  cache: "x-cache",
  age: "age",
  pop: "x-amz-cf-pop",
  etag: "etag",
};

let ctrl = null;

function set(root, name, value) {
  const el = root.querySelector('[data-field="' + name + '"]');
  if (el) el.textContent = value || "unknown";
}

function say(root, text) {
  const el = root.querySelector("[data-status-message]");
  if (el) el.textContent = text;
}

async function page(root, signal) {
  const res = await fetch("/index.html", { method: "HEAD", cache: "no-store", signal });
  for (const [name, header] of Object.entries(fields)) set(root, name, res.headers.get(header));
  return res.headers.get(fields.region);
}

// health fetches one health endpoint and returns {ok, region, code}; an
// unreachable endpoint is reported, not hidden.
async function health(url, signal) {
  try {
    const res = await fetch(url, { cache: "no-store", signal });
    let region = null;
    const type = res.headers.get("content-type") || "";
    if (type.includes("json")) {
      const body = await res.json().catch(() => null);
      if (body && typeof body.region === "string") region = body.region;
    }
    return { ok: res.ok, code: String(res.status), region };
  } catch (e) {
    if (e.name === "AbortError") throw e;
    return { ok: false, code: "no answer", region: null };
  }
}

function row(list, label, h) {
  const li = document.createElement("li");
  const name = document.createElement("span");
  name.className = "health-name";
  name.textContent = label;
  const state = document.createElement("span");
  state.className = h.ok ? "health-state ok" : "health-state bad";
  state.textContent = (h.ok ? "healthy" : "unhealthy") + " (" + h.code + ")" +
    (h.region ? " · answered by " + h.region : "");
  li.append(name, " ", state);
  list.append(li);
}

async function regions(root, pageRegion, signal) {
  const list = root.querySelector("#region-health");
  if (!list) return;
  const api = await health("/api/health", signal);
  const known = [];
  for (const r of [pageRegion, api.region]) {
    if (r && /^[a-z0-9-]+$/.test(r) && !known.includes(r)) known.push(r);
  }
  const pinned = await Promise.all(
    known.map((r) => health("/api/r/" + r + "/health", signal)),
  );
  list.replaceChildren();
  row(list, "API (via the edge)", api);
  known.forEach((r, i) => row(list, r, pinned[i]));
}

async function refresh(root) {
  if (ctrl) ctrl.abort();
  ctrl = new AbortController();
  const signal = ctrl.signal;
  say(root, "Checking…");
  try {
    const region = await page(root, signal);
    await regions(root, region, signal);
    say(root, "Checked at " + new Date().toLocaleTimeString() + ".");
  } catch (e) {
    if (e.name === "AbortError") return;
    for (const name of Object.keys(fields)) set(root, name, null);
    say(root, "The edge did not answer: " + e.message);
  }
}

let bound = false;

export default {
  name: "status",
  path: "/status",
  title: "Status",
  enter(root) {
    if (!bound) {
      const btn = root.querySelector("[data-refresh]");
      if (btn) btn.addEventListener("click", () => refresh(root));
      bound = true;
    }
    refresh(root);
  },
  leave() {
    if (ctrl) ctrl.abort();
    ctrl = null;
  },
};
