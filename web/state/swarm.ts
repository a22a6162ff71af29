/**
 * The swarm as the Swarm view and the canvas cards show it: cluster health, live services (and
 * the tasks of the services the operator opened), the catalog, stacks, swarm nodes and the
 * registry. The Engine pushes no task changes through the hub's stream, so while the Swarm view
 * is open its tab is re-read every {@link LIVE_MS} (paused while the page is hidden); the swarm
 * nodes behind the canvas cards' role marks are re-read every {@link NODES_MS}.
 *
 * Actions in flight (deploy, scale, update, restart) are kept in {@link pending} so their rows
 * show progress until the service converges, and how it ended.
 *
 * @module
 */
import { computed, effect, signal } from "@preact/signals";
import type {
  RegistryCatalog,
  SwarmCatalogEntry,
  SwarmHealth,
  SwarmNode,
  SwarmService,
  SwarmServiceDetail,
  SwarmStack,
} from "../../shared/protocol/mod.ts";
import { ApiError } from "../../shared/api_client.ts";
import { api } from "./api.ts";
import { session } from "./session.ts";

/** How often the open Swarm view re-reads what it shows. */
export const LIVE_MS = 2000;
/** How often the swarm nodes behind the canvas marks are re-read. */
export const NODES_MS = 15_000;
/** How long a deploy or scale may take to converge before its row says it did not. */
export const CONVERGE_MS = 120_000;

/** Why the swarm cannot be shown: the engine is not a manager (409) or unreachable (503). */
export interface SwarmUnavailable {
  status: number;
  message: string;
}

export const swarmHealth = signal<SwarmHealth | null>(null);
/** Set when the hub's engine is not a swarm manager or does not answer; null when it does. */
export const swarmUnavailable = signal<SwarmUnavailable | null>(null);
export const swarmServices = signal<SwarmService[] | null>(null);
/** Details (with tasks) of the services whose rows are open, by name. */
export const serviceDetails = signal<Record<string, SwarmServiceDetail>>({});
/** Open service rows. */
export const openServices = signal<ReadonlySet<string>>(new Set());
export const swarmCatalog = signal<SwarmCatalogEntry[] | null>(null);
export const swarmStacks = signal<SwarmStack[] | null>(null);
export const swarmNodes = signal<SwarmNode[] | null>(null);
export const registryCatalog = signal<RegistryCatalog | null>(null);
/** The last error of a list read, by list. */
export const swarmErrors = signal<Record<string, string>>({});

/** An action in flight or just finished on a service. */
export interface PendingAction {
  /** `deploy`, `scale`, `update`, `restart`. */
  action: string;
  /** Human words: "scaling 1 → 3", "deploying v2". */
  label: string;
  started: number;
  /** Replicas it converges to (scale), when known. */
  target?: number;
  /** `working` until converged; `done`, or `stuck` (tasks failed, or not converged in time). */
  state: "working" | "done" | "stuck";
  detail?: string;
  /** Failed tasks the service had when the action started: more later means it fails. */
  failedBefore: number;
  /** When it converged. */
  finished?: number;
}
/** Actions by service name. */
export const pending = signal<Record<string, PendingAction>>({});

/** The swarm role and availability of each fleet node that is a swarm node. */
/** Why what needs the engine (deploy, save, build, delete) cannot run now, or null. */
export const engineBlocked = computed<string | null>(() => {
  const u = swarmUnavailable.value;
  if (!u) return null;
  return u.status === 409
    ? "Needs a swarm manager: the hub's Docker engine is not one"
    : "Needs the hub's Docker engine, which does not answer (see --docker-socket)";
});

export const swarmRoles = computed(() => {
  const map: Record<string, SwarmNode> = {};
  for (const n of swarmNodes.value ?? []) if (n.fleet_node_id) map[n.fleet_node_id] = n;
  return map;
});

function setError(list: string, err: unknown): void {
  const next = { ...swarmErrors.peek() };
  if (err === null) delete next[list];
  else next[list] = (err as Error).message;
  swarmErrors.value = next;
}

/** Reads `list`, noting a 409/503 as the swarm being unavailable rather than a list error. */
async function read<T>(list: string, fn: () => Promise<T>, apply: (v: T) => void): Promise<void> {
  try {
    apply(await fn());
    setError(list, null);
    // The catalog answers from the hub's database, so it says nothing about the engine.
    if (list !== "catalog") engineAnswered();
  } catch (err) {
    // Only the engine's own problems close the whole view (an unreachable registry is the
    // Registry tab's error alone).
    const type = err instanceof ApiError ? err.problem?.type ?? "" : "";
    if (/\/(not-a-swarm-manager|engine-unreachable)$/.test(type)) {
      swarmUnavailable.value = {
        status: (err as ApiError).status,
        message: (err as Error).message,
      };
    }
    setError(list, err);
  }
}

export const loadHealth = (): Promise<void> =>
  read("health", () => api.swarmHealth(), (h) => (swarmHealth.value = h));

export const loadServices = (): Promise<void> =>
  read("services", () => api.swarmServices(), (s) => {
    swarmServices.value = s;
    settlePending(s);
  });

/** Re-reads the tasks of the open service rows. */
export async function loadOpenDetails(): Promise<void> {
  const names = [...openServices.peek()];
  if (!names.length) return;
  const got = await Promise.all(names.map((n) => api.swarmService(n).catch(() => null)));
  const next: Record<string, SwarmServiceDetail> = {};
  names.forEach((n, i) => {
    const d = got[i] ?? serviceDetails.peek()[n];
    if (d) next[n] = d;
  });
  serviceDetails.value = next;
}

export const loadCatalog = (): Promise<void> =>
  read("catalog", () => api.swarmCatalog(), (c) => (swarmCatalog.value = c));

export const loadStacks = (): Promise<void> =>
  read("stacks", () => api.swarmStacks(), (s) => (swarmStacks.value = s));

/** Sets `sig` only when the answer differs: every canvas card reads the nodes, so an unchanged
 * answer must not re-render a thousand cards. */
function setIfChanged<T>(sig: { value: T; peek(): T }, next: T): void {
  if (JSON.stringify(sig.peek()) !== JSON.stringify(next)) sig.value = next;
}

export const loadNodes = (): Promise<void> =>
  read("nodes", () => api.swarmNodes(), (n) => setIfChanged(swarmNodes, n));

export const loadRegistry = (): Promise<void> =>
  read("registry", () => api.registryCatalog(), (r) => (registryCatalog.value = r));

/** Opens or closes a service's row (its tasks are read at once when it opens). */
export function toggleService(name: string): void {
  const next = new Set(openServices.peek());
  if (next.has(name)) next.delete(name);
  else next.add(name);
  openServices.value = next;
  void loadOpenDetails();
}

/** Marks an action as in flight on `name`; its row shows it until the service converges. */
export function startPending(
  name: string,
  p: Omit<PendingAction, "started" | "state" | "failedBefore" | "finished">,
): void {
  const failedBefore = swarmServices.peek()?.find((s) => s.name === name)?.tasks_failed ?? 0;
  pending.value = {
    ...pending.peek(),
    [name]: { ...p, started: Date.now(), state: "working", failedBefore },
  };
}

/** Ends the action on `name` (e.g. the hub refused it). */
export function endPending(name: string): void {
  const next = { ...pending.peek() };
  delete next[name];
  pending.value = next;
}

/** Converged: every desired replica runs (or a job's tasks all ended). */
export function converged(s: SwarmService): boolean {
  if (s.update_state === "updating" || s.update_state === "rollback_started") return false;
  if (s.replicas_desired === null) return true;
  if (s.mode === "replicated-job") return s.replicas_running === 0;
  return s.replicas_running === s.replicas_desired;
}

/** Moves in-flight actions to `done` when their service converged, `stuck` after too long. */
function settlePending(list: SwarmService[]): void {
  const cur = pending.peek();
  if (!Object.keys(cur).length) return;
  const byName = new Map(list.map((s) => [s.name, s]));
  const next: Record<string, PendingAction> = {};
  let changed = false;
  const t = Date.now();
  for (const [name, p] of Object.entries(cur)) {
    // A finished note stays a few seconds, then the row is plain again.
    if (p.state === "done" && t - (p.finished ?? t) > 6000) {
      changed = true;
      continue;
    }
    const s = byName.get(name);
    let { state, detail, finished } = p;
    if (p.state !== "done" && s) {
      const reached = converged(s) &&
        (p.target === undefined || s.replicas_desired === p.target);
      if (reached && t - p.started > 800) {
        state = "done";
        finished = t;
        detail = undefined;
      } else if (s.tasks_failed > p.failedBefore) {
        // Say it at once, with Docker's words when the health check has them.
        state = "stuck";
        const n = s.tasks_failed - p.failedBefore;
        const why = swarmHealth.peek()?.services.not_converged.find((x) => x.name === name)?.error;
        detail = `${n} task${n === 1 ? "" : "s"} failed${why ? `: ${why}` : ""}`;
      } else if (t - p.started > CONVERGE_MS) {
        state = "stuck";
        detail = `not converged: ${s.replicas_running}/${
          s.replicas_desired ?? "global"
        } running after ${Math.round(CONVERGE_MS / 1000)} s`;
      }
    } else if (!s && p.state === "working" && t - p.started > CONVERGE_MS) {
      state = "stuck";
      detail = "the service did not appear in the swarm";
    }
    if (state !== p.state || detail !== p.detail) changed = true;
    next[name] = { ...p, state, detail, finished };
  }
  if (changed) pending.value = next;
}

/** What the open view reads on every tick (the Swarm view sets it). */
export const liveTab = signal<string | null>(null);

async function tick(): Promise<void> {
  const tab = liveTab.peek();
  if (!tab || document.hidden) return;
  const work: Promise<void>[] = [loadHealth()];
  if (tab === "services") work.push(loadServices(), loadOpenDetails());
  if (tab === "catalog") work.push(loadCatalog(), loadServices());
  if (tab === "stacks") work.push(loadStacks(), loadServices());
  if (tab === "nodes") work.push(loadNodes());
  await Promise.all(work);
}

let liveTimer: ReturnType<typeof setTimeout> | undefined;
let ticking = false;
function schedule(): void {
  clearTimeout(liveTimer);
  liveTimer = setTimeout(async () => {
    if (ticking) return schedule();
    ticking = true;
    try {
      await tick();
    } finally {
      ticking = false;
      if (liveTab.peek()) schedule();
    }
  }, LIVE_MS);
}

/** Re-reads what `tab` shows now and then every {@link LIVE_MS} until {@link stopLive}. */
export function startLive(tab: string): void {
  liveTab.value = tab;
  void tick();
  schedule();
}

/** Stops the live re-reads (the Swarm view closed). */
export function stopLive(): void {
  liveTab.value = null;
  clearTimeout(liveTimer);
}

/** Re-reads now (after an action), without waiting for the next tick. */
export function refreshNow(): void {
  if (liveTab.peek()) {
    void tick();
    schedule();
  }
}

// The canvas marks swarm roles and drained nodes: read the nodes while someone is logged in.
// Without an engine (503) or a manager (409) the read is skipped, across reloads too, for a
// minute and then longer (up to 15 min) until it answers or the Swarm view reads the swarm.
const SKIP_KEY = "fleet.swarm.skip";
const SKIP_MIN_MS = 60_000;
const SKIP_MAX_MS = 15 * 60_000;
let nodesTimer: ReturnType<typeof setTimeout> | undefined;
let polling = false;

function skipState(): { until: number; gap: number } {
  try {
    const v = JSON.parse(localStorage.getItem(SKIP_KEY) ?? "null");
    if (typeof v?.until === "number" && typeof v?.gap === "number") return v;
  } catch { /* unreadable: start over */ }
  return { until: 0, gap: 0 };
}

function setSkip(v: { until: number; gap: number } | null): void {
  try {
    if (v) localStorage.setItem(SKIP_KEY, JSON.stringify(v));
    else localStorage.removeItem(SKIP_KEY);
  } catch { /* storage off: skip for this page only */ }
}

function pollNodes(): void {
  clearTimeout(nodesTimer);
  const skip = skipState();
  const wait = skip.until - Date.now();
  if (wait > 0) {
    nodesTimer = setTimeout(pollNodes, Math.min(wait, SKIP_MAX_MS));
    return;
  }
  polling = true;
  void loadNodes().finally(() => {
    polling = false;
    if (!session.peek()) return;
    if (swarmUnavailable.peek()) {
      const gap = Math.min(SKIP_MAX_MS, Math.max(SKIP_MIN_MS, skip.gap * 2));
      setSkip({ until: Date.now() + gap, gap });
      nodesTimer = setTimeout(pollNodes, gap);
    } else {
      if (skip.gap) setSkip(null);
      nodesTimer = setTimeout(pollNodes, NODES_MS);
    }
  });
}

/** An engine read worked: the swarm is back, and so are the canvas marks (at once). */
function engineAnswered(): void {
  if (swarmUnavailable.peek()) swarmUnavailable.value = null;
  if (!skipState().gap) return;
  setSkip(null);
  if (!polling && session.peek()) pollNodes();
}
effect(() => {
  if (session.value) pollNodes();
  else {
    clearTimeout(nodesTimer);
    swarmNodes.value = null;
  }
});
