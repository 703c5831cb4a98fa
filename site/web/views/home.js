// Home view. Today it is static text rendered by the server; the message board
// mounts into #board here later.
export default {
  name: "home",
  path: "/",
  title: "Home",
  enter() {},
};
