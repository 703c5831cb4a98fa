// Entry point of the client. It registers one view per route and starts the
// router; each view lives in its own module under views/ so a page can grow
// (the home view becomes the message board) without touching the others.
import { start } from "./router.js";
import home from "./views/home.js";
import status from "./views/status.js";
import about from "./views/about.js";
import notFound from "./views/notfound.js";

start([home, status, about], notFound);
