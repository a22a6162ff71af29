/**
 * What the operator is looking at: the view (from the URL hash, so reload and back work), the
 * node whose details are open, the canvas selection and search, and toasts.
 *
 * @module
 */
import { signal } from "@preact/signals";

/** The views of the side nav. */
export const VIEWS = [
  "canvas",
  "clusters",
  "roamers",
  "jobs",
  "exec",
  "audit",
  "network",
  "alerts",
  "swarm",
  "backups",
] as const;
export type View = typeof VIEWS[number];

function viewFromHash(): { view: View; arg: string | null } {
  const [v, arg] = location.hash.replace(/^#\/?/, "").split("/");
  return {
    view: (VIEWS as readonly string[]).includes(v) ? v as View : "canvas",
    arg: arg ?? null,
  };
}

/** The current view. */
export const view = signal<View>(viewFromHash().view);
/** The node whose details panel is open. */
export const selectedNode = signal<string | null>(null);
/** Nodes selected on the canvas (shift-click, for batch operations). */
export const selection = signal<ReadonlySet<string>>(new Set());
/** The canvas' node search text (`/`): matching cards stand out, the rest fade. */
export const searchQuery = signal("");

/** Shows a view (and records it in the URL). */
export function go(v: View, arg?: string): void {
  view.value = v;
  const hash = `#/${v}${arg ? `/${arg}` : ""}`;
  if (location.hash !== hash) history.pushState(null, "", hash);
}

addEventListener("popstate", () => {
  view.value = viewFromHash().view;
  warnUnknownView();
});

/** One toast message. */
export interface Toast {
  id: number;
  kind: "info" | "ok" | "error";
  text: string;
}
/** Visible toasts, newest last. */
export const toasts = signal<Toast[]>([]);
let nextToast = 1;

/** Shows a short message for a few seconds. */
export function toast(text: string, kind: Toast["kind"] = "info"): void {
  const t = { id: nextToast++, kind, text };
  toasts.value = [...toasts.value, t].slice(-5);
  setTimeout(
    () => (toasts.value = toasts.value.filter((x) => x.id !== t.id)),
    kind === "error" ? 8000 : 4000,
  );
}

/** Runs an action, toasting its outcome; returns whether it worked. */
export async function act(label: string, fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn();
    toast(label, "ok");
    return true;
  } catch (err) {
    toast(`${label} failed: ${(err as Error).message}`, "error");
    return false;
  }
}

/** Says so when the URL names a view that does not exist, instead of silently showing another. */
function warnUnknownView(): void {
  const v = location.hash.replace(/^#\/?/, "").split("/")[0];
  // `#/terminal/<node>` is the pop-out window, handled before the app starts.
  if (v && v !== "terminal" && !(VIEWS as readonly string[]).includes(v)) {
    toast(`No such view “#/${v}”: showing the canvas (views: ${VIEWS.join(", ")})`, "error");
  }
}
warnUnknownView();
