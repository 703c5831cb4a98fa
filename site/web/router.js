// Client-side router. Every view is already server-rendered into index.html as
// a <section data-view="name"> (so the page reads without JavaScript); the
// router shows the section that matches location.pathname and hides the rest.
// The edge serves /index.html for every extensionless path, so a deep link such
// as /status loads this same document and lands here.
//
// The script runs in <head>, before the body is parsed: it first writes the
// view's name to <html data-route>, which app.css uses to hide the other views
// from the first paint (no flash of the home view, no layout shift), and wires
// up the sections once the document is parsed.

let views = [];
let fallback = null;
let current = null;

function normalize(pathname) {
  // "/status/" and "/status" are the same route; "/index.html" is home.
  let p = pathname.replace(/\/index\.html$/, "/");
  if (p.length > 1) p = p.replace(/\/+$/, "");
  return p || "/";
}

function match(pathname) {
  const p = normalize(pathname);
  return views.find((v) => v.path === p) || fallback;
}

function section(view) {
  return document.querySelector('[data-view="' + view.name + '"]');
}

function render(focus) {
  const next = match(location.pathname);
  if (current && current !== next && current.leave) current.leave();
  for (const v of views.concat(fallback)) {
    const el = section(v);
    if (el) el.hidden = v !== next;
  }
  for (const a of document.querySelectorAll("nav a[href]")) {
    if (normalize(a.getAttribute("href")) === normalize(location.pathname)) {
      a.setAttribute("aria-current", "page");
    } else {
      a.removeAttribute("aria-current");
    }
  }
  document.documentElement.dataset.route = next.name;
  const el = section(next);
  document.title = next.title + " · twinedge";
  current = next;
  if (next.enter && el) next.enter(el);
  if (focus && el) {
    // Move focus to the new view's heading so screen readers announce it.
    const h = el.querySelector("h1");
    if (h) h.focus();
    window.scrollTo(0, 0);
  }
}

// navigate pushes a new history entry and renders the matching view.
export function navigate(href) {
  if (href !== location.pathname + location.search + location.hash) {
    history.pushState(null, "", href);
  }
  render(true);
}

function onClick(e) {
  if (e.defaultPrevented || e.button !== 0) return;
  if (e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest && e.target.closest("a[href]");
  if (!a || a.target || a.hasAttribute("download")) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  // Only extensionless paths are SPA routes; files (assets, 404.html) load normally.
  if (/\.[a-z0-9]+$/i.test(url.pathname) && !/\/index\.html$/.test(url.pathname)) return;
  if (url.pathname === location.pathname && url.hash) return; // in-page anchor
  e.preventDefault();
  navigate(url.pathname + url.search + url.hash);
}

// start registers the views and the not-found view, then renders the current
// location and follows link clicks and back/forward.
export function start(list, notFound) {
  views = list;
  fallback = notFound;
  document.documentElement.dataset.route = match(location.pathname).name;
  const ready = () => {
    document.addEventListener("click", onClick);
    window.addEventListener("popstate", () => render(true));
    render(false);
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready, { once: true });
  } else {
    ready();
  }
}
