/**
 * How an audit entry reads: its action family (icon and colour), the action in words, its
 * target (node names for node ids), and a one-line summary of its detail — the command of a run,
 * the duration and reason of a terminal session, the error of a failed action.
 *
 * @module
 */
import type { AuditEntry } from "../../../shared/protocol/mod.ts";
import { nodeSignal } from "../../state/fleet.ts";

/** Action families with their icon and label. */
export const FAMILIES: Record<string, { icon: string; label: string }> = {
  exec: { icon: "exec", label: "Batch exec" },
  terminal: { icon: "terminal", label: "Terminal" },
  container: { icon: "box", label: "Containers" },
  token: { icon: "bolt", label: "Tokens" },
  job: { icon: "jobs", label: "Jobs" },
  roamer: { icon: "roamers", label: "Roamers" },
  node: { icon: "canvas", label: "Nodes" },
  config: { icon: "layout", label: "Config" },
  session: { icon: "bolt", label: "Sessions" },
  alert: { icon: "alerts", label: "Alerts" },
};

/** Filter choices of the action select: families and their known actions. */
export const ACTION_CHOICES: { value: string; label: string; family?: boolean }[] = [
  { value: "exec.", label: "Batch exec: all", family: true },
  { value: "exec.run", label: "exec.run" },
  { value: "exec.cancel", label: "exec.cancel" },
  { value: "terminal.", label: "Terminal: all", family: true },
  { value: "terminal.open", label: "terminal.open" },
  { value: "terminal.close", label: "terminal.close" },
  { value: "container.", label: "Containers: all", family: true },
  { value: "container.restart", label: "container.restart" },
  { value: "container.stop", label: "container.stop" },
  { value: "container.remove", label: "container.remove" },
  { value: "token.", label: "Tokens: all", family: true },
  { value: "token.create", label: "token.create" },
  { value: "token.revoke", label: "token.revoke" },
  { value: "job.", label: "Jobs: all", family: true },
  { value: "job.submit", label: "job.submit" },
  { value: "job.cancel", label: "job.cancel" },
  { value: "job.retry", label: "job.retry" },
  { value: "roamer.", label: "Roamers: all", family: true },
  { value: "roamer.assign", label: "roamer.assign" },
  { value: "roamer.release", label: "roamer.release" },
  { value: "node.", label: "Nodes: all", family: true },
  { value: "node.enroll", label: "node.enroll" },
  { value: "node.reenroll", label: "node.reenroll" },
  { value: "node.delete", label: "node.delete" },
  { value: "config.reload", label: "config.reload" },
  { value: "session.", label: "Sessions: all", family: true },
  { value: "session.open", label: "session.open" },
  { value: "session.close", label: "session.close" },
  { value: "alert.", label: "Alerts: all", family: true },
  { value: "alert.ack", label: "alert.ack" },
  { value: "alert.silence", label: "alert.silence" },
  { value: "alert.unsilence", label: "alert.unsilence" },
  { value: "alert.webhook_test", label: "alert.webhook_test" },
];

/** The family of an action (`exec` of `exec.run`). */
export function family(action: string): string {
  return action.split(".")[0];
}

/** A node id as its name, when the fleet knows it. */
export function nodeName(id: string): string {
  return nodeSignal(id)?.peek().name ?? id;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
}

function duration(s: number): string {
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** What the entry acted on, as parts: node ids, a cluster, a container or a token. */
export function targetParts(e: AuditEntry): { kind: string; value: string; node?: string }[] {
  const t = e.target;
  if (!t) return [];
  const f = family(e.action);
  if (f === "exec") {
    if (t.startsWith("cluster:")) return [{ kind: "cluster", value: t.slice(8) }];
    return t.split(",").filter(Boolean).map((n) => ({ kind: "node", value: nodeName(n), node: n }));
  }
  if (f === "container") {
    const [node, ...rest] = t.split("/");
    return [
      { kind: "node", value: nodeName(node), node },
      { kind: "container", value: rest.join("/") },
    ];
  }
  if (f === "terminal" || f === "roamer" || f === "node") {
    return [{ kind: "node", value: nodeName(t), node: t }];
  }
  if (f === "job") return [{ kind: "job", value: `#${t}` }];
  return [{ kind: f === "token" ? "token" : "target", value: t }];
}

/** A short line from the entry's detail. */
export function summary(e: AuditEntry): string {
  const d = e.detail ?? {};
  const error = str(d.error);
  switch (e.action) {
    case "exec.run":
      return str(d.command) ?? "";
    case "exec.cancel": {
      const n = Array.isArray(d.nodes) ? d.nodes.length : 0;
      return `${n} ${n === 1 ? "node" : "nodes"} still running`;
    }
    case "terminal.open":
      return error ??
        (typeof d.cols === "number" ? `${d.cols}×${d.rows} · pid ${d.pid ?? "?"}` : "");
    case "terminal.close": {
      const parts = [];
      if (typeof d.duration_s === "number") parts.push(`after ${duration(d.duration_s)}`);
      if (str(d.reason)) parts.push(str(d.reason)!);
      return parts.join(" · ");
    }
    case "container.remove":
      return error ?? (d.force ? "forced (it was running)" : "");
    case "token.create":
    case "token.revoke": {
      const name = str(d.name);
      const node = str(d.node_id);
      return `${str(d.kind) ?? ""} token${name ? ` “${name}”` : ""}${
        node && node !== name ? ` for ${node}` : ""
      }`;
    }
    case "job.submit":
      return str(d.template) ?? str(d.command) ?? str(d.image) ?? "";
    case "job.cancel":
    case "job.retry":
      return str(d.state) ? `now ${str(d.state)}` : "";
    case "roamer.assign": {
      const to = str(d.cluster) ?? str(d.template);
      return [to ? `to ${to}` : "", str(d.mode) ?? ""].filter(Boolean).join(" · ");
    }
    case "roamer.release":
      return str(d.cluster) ? `from ${str(d.cluster)}` : "";
    case "config.reload":
      return error ??
        (typeof d.nodes === "number" ? `${d.nodes} nodes, ${d.clusters ?? 0} clusters` : "");
    case "node.enroll":
    case "node.reenroll":
      return error ??
        [str(d.hostname), str(d.requested) ? `asked for ${str(d.requested)}` : ""].filter(Boolean)
          .join(" · ");
    case "alert.silence":
      return error ??
        (typeof d.for_s === "number" ? `notifications held ${duration(d.for_s)}` : "");
    case "alert.webhook_test":
      return error ?? (str(d.delivery) ? `delivery ${str(d.delivery)}` : "");
    default:
      return error ?? "";
  }
}

/** How many nodes of an `exec.run` were not connected (reported offline at once). */
export function notConnected(e: AuditEntry): number {
  const v = e.detail?.not_connected;
  return e.action === "exec.run" && Array.isArray(v) ? v.length : 0;
}

/** The exec run an entry is about, if any. */
export function execIdOf(e: AuditEntry): string | null {
  return e.action.startsWith("exec.") ? str(e.detail?.exec_id) : null;
}
