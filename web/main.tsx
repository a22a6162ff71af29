/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Mounts the canvas UI. Everything lives in the bundle the hub embeds: no CDN, no fonts from the
 * network, so the wall screen in a rack with no internet still works.
 *
 * @module
 */
import { render } from "preact";
import { App } from "./app.tsx";
import { PopoutTerminal } from "./views/terminal/popout.tsx";
import { popoutNode } from "./views/terminal/terminal_state.ts";

// A terminal popped out of the dock (`#/terminal/<node>`) is a window with only that terminal.
const popout = popoutNode();
render(
  popout ? <PopoutTerminal node={popout} /> : <App />,
  document.getElementById("app")!,
);
