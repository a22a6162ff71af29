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

render(<App />, document.getElementById("app")!);
