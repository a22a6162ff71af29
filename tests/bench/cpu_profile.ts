/**
 * Reads a V8 `.cpuprofile` (from `deno run --cpu-prof`) and ranks functions by self and
 * inclusive time inside a window, for the bench's profilers.
 *
 * @module
 */
import { join } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

/** The parts of a `.cpuprofile` used here. */
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Reads the `.cpuprofile` that `--cpu-prof-dir=dir` wrote for the main thread (or, with
 * `worker`, the one of the Worker whose file name holds it, e.g. `worker-1`); returns it and
 * its path.
 */
export async function readProfile(
  dir: string,
  worker?: string,
): Promise<{ profile: Profile; file: string }> {
  const e = [...Deno.readDirSync(dir)].find((e) =>
    e.name.endsWith(".cpuprofile") &&
    (worker === undefined ? !e.name.includes(".worker-") : e.name.includes(`.${worker}.`))
  );
  if (!e) throw new Error(`no .cpuprofile written in ${dir}`);
  const file = join(dir, e.name);
  return { profile: JSON.parse(await Deno.readTextFile(file)) as Profile, file };
}

/** Self and inclusive time per function between `from` and `to` (µs, profile clock). */
export function analyzeProfile(
  p: Profile,
  from: number,
  to: number,
  inclusiveTop = 45,
): { total_ms: number; self: string[]; inclusive: string[] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url.split("/").at(-1) ?? "";
    return `${f.functionName || "(anonymous)"}${file ? ` ${file}:${f.lineNumber + 1}` : ""}`;
  };
  const selfTime = new Map<number, number>();
  let t = p.startTime;
  let total = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < from || t > to) continue;
    selfTime.set(p.samples[i], (selfTime.get(p.samples[i]) ?? 0) + p.timeDeltas[i]);
    total += p.timeDeltas[i];
  }
  const self = new Map<string, number>();
  const incl = new Map<string, number>();
  for (const [id, us] of selfTime) {
    const n = byId.get(id)!;
    self.set(name(n), (self.get(name(n)) ?? 0) + us);
    // Count each function once per stack, so recursion does not inflate it.
    const seen = new Set<string>();
    for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
      const nm = name(byId.get(x)!);
      if (seen.has(nm)) continue;
      seen.add(nm);
      incl.set(nm, (incl.get(nm) ?? 0) + us);
    }
  }
  const top = (m: Map<string, number>, k: number) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, k).map(([f, us]) =>
      `${(us / total * 100).toFixed(1).padStart(5)}%  ${f}`
    );
  return {
    total_ms: Math.round(total / 1000),
    self: top(self, 25),
    inclusive: top(incl, inclusiveTop),
  };
}
