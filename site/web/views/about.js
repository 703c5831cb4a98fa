// About view: static, server-rendered text.
export default {
  name: "about",
  path: "/about",
  title: "About",
  enter() {},
};
