// Not-found view, shown for any extensionless path that is not a route. The
// edge still answers 200 for it (it served /index.html), so the page says so.
export default {
  name: "notfound",
  path: null,
  title: "Not found",
  enter(el) {
    const p = el.querySelector("[data-path]");
    if (p) p.textContent = location.pathname;
  },
};
