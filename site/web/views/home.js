// Home view. Its text is rendered by the server; the message board (board.js)
// mounts into [data-board] and reads only while the view shows.
import { mountBoard, unmountBoard } from "../board.js";

export default {
  name: "home",
  path: "/",
  title: "Home",
  enter(root) {
    mountBoard(root.querySelector("[data-board]"));
  },
  leave() {
    unmountBoard();
  },
};
