/**
 * A parse thread that dies on the first body it is sent (an uncaught error), for the tests of
 * what the hub does when its parse thread fails.
 *
 * @module
 */
/// <reference no-default-lib="true" />
/// <reference lib="deno.worker" />
self.onmessage = (e: MessageEvent<{ kind: string }>) => {
  if (e.data.kind === "body") throw new Error("parse thread test failure");
};
