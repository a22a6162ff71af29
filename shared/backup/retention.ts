/**
 * Retention (restic's `forget` rules): which snapshots a policy keeps, and deleting the
 * manifests of the others. Days, weeks (ISO, Monday first), months and years are UTC.
 *
 * @module
 */
import { BackupError, toBackupError } from "./errors.ts";
import { runPrune } from "./prune.ts";
import { Repo } from "./repo.ts";
import { toSummary } from "./backup.ts";
import type {
  ForgetDecision,
  ForgetOptions,
  ForgetReport,
  RetentionPolicy,
  SnapshotSummary,
} from "./types.ts";

const isoWeek = (d: Date) => {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const y0 = Date.UTC(t.getUTCFullYear(), 0, 1);
  return `${t.getUTCFullYear()}-W${Math.ceil(((t.getTime() - y0) / 86400000 + 1) / 7)}`;
};

const BUCKETS: [keyof RetentionPolicy, string, (d: Date) => string][] = [
  ["keepHourly", "hourly", (d) => d.toISOString().slice(0, 13)],
  ["keepDaily", "daily", (d) => d.toISOString().slice(0, 10)],
  ["keepWeekly", "weekly", isoWeek],
  ["keepMonthly", "monthly", (d) => d.toISOString().slice(0, 7)],
  ["keepYearly", "yearly", (d) => d.toISOString().slice(0, 4)],
];

/** Throws `bad-input` unless the policy has at least one rule and only sane counts. */
export function checkPolicy(p: RetentionPolicy): void {
  const counts = [p.keepLast, ...BUCKETS.map(([k]) => p[k] as number | undefined)];
  for (const c of counts) {
    if (c !== undefined && (!Number.isInteger(c) || c < 0 || c > 100_000)) {
      throw new BackupError("bad-input", "retention counts must be whole numbers 0…100000");
    }
  }
  const any = counts.some((c) => (c ?? 0) > 0) || (p.keepWithinMs ?? 0) > 0 ||
    (p.keepTags?.length ?? 0) > 0;
  if (!any) {
    throw new BackupError("bad-input", "a retention policy needs at least one keep rule");
  }
}

/** See `mod.ts`. */
export function applyRetention(
  snapshots: Pick<SnapshotSummary, "id" | "time" | "tags">[],
  policy: RetentionPolicy,
  now: Date = new Date(),
): { id: string; keep: boolean; reasons: string[] }[] {
  checkPolicy(policy);
  const sorted = [...snapshots].sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
  const left = new Map<string, number>();
  const lastKey = new Map<string, string>();
  for (const [k, name] of BUCKETS) left.set(name, (policy[k] as number | undefined) ?? 0);
  let lastLeft = policy.keepLast ?? 0;
  return sorted.map((s) => {
    const d = new Date(s.time);
    const reasons: string[] = [];
    if (lastLeft > 0) {
      lastLeft--;
      reasons.push("last");
    }
    for (const [, name, keyOf] of BUCKETS) {
      const n = left.get(name)!;
      if (n <= 0) continue;
      const key = keyOf(d);
      if (lastKey.get(name) !== key) {
        lastKey.set(name, key);
        left.set(name, n - 1);
        reasons.push(name);
      }
    }
    if (policy.keepWithinMs && now.getTime() - d.getTime() <= policy.keepWithinMs) {
      reasons.push("within");
    }
    if (policy.keepTags?.some((t) => s.tags.includes(t))) reasons.push("tag");
    return { id: s.id, keep: reasons.length > 0, reasons };
  });
}

/** See `mod.ts`. */
export async function runForget(o: ForgetOptions): Promise<ForgetReport> {
  try {
    checkPolicy(o.policy);
    const repo = await Repo.open(o.repo, false, o.signal);
    const all: SnapshotSummary[] = [];
    for (const id of await repo.listManifestIds(o.signal)) {
      // An unreadable manifest is never forgotten by policy (verify reports it).
      const m = await repo.getManifest(id, o.signal).catch(() => null);
      if (m) all.push(toSummary(m));
    }
    const f = o.filter;
    const chosen = all.filter((s) =>
      (!f?.host || s.host === f.host) && (!f?.node || s.node === f.node) &&
      (!f?.target || s.target === f.target) && (f?.tags ?? []).every((t) => s.tags.includes(t))
    );
    const groupBy = o.groupBy ?? ["host", "target"];
    const groups = new Map<string, SnapshotSummary[]>();
    for (const s of chosen) {
      const k = JSON.stringify(groupBy.map((g) => s[g]));
      groups.set(k, [...(groups.get(k) ?? []), s]);
    }
    const kept: ForgetDecision[] = [];
    const removed: ForgetDecision[] = [];
    for (const list of groups.values()) {
      const byId = new Map(list.map((s) => [s.id, s]));
      for (const d of applyRetention(list, o.policy, o.now)) {
        const s = byId.get(d.id)!;
        const dec = { host: s.host, target: s.target, time: s.time, ...d };
        (d.keep ? kept : removed).push(dec);
      }
    }
    if (!o.dryRun) {
      for (const d of removed) await repo.deleteManifest(d.id, o.signal);
    }
    let prune = null;
    if (o.prune) {
      const extra = typeof o.prune === "object" ? o.prune : {};
      prune = await runPrune({ ...extra, repo: o.repo, dryRun: o.dryRun, signal: o.signal });
    }
    return { dryRun: !!o.dryRun, kept, removed, prune };
  } catch (e) {
    throw toBackupError(e);
  }
}
