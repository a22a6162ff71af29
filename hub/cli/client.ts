/**
 * `fleet-hub job …` and `fleet-hub roamer …`: operator commands that talk to a running hub over
 * its HTTP API (so they work from a laptop too), with the admin token from `--token` /
 * `FLEET_TOKEN` or, on the control box, `<data-dir>/admin.token`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { join } from "node:path";
import { ApiClient, ApiError } from "../../shared/api_client.ts";
import { JobState, JobSubmit, RoamerAssign } from "../../shared/protocol/mod.ts";
import type { JobInfo, RoamerInfo } from "../../shared/protocol/mod.ts";
import { EXIT_CODES_HELP, RefusedError, UsageError } from "../../shared/cli.ts";

/** The connection options every client command takes, for its help. */
export const CONNECTION = `Connection (every command):
  --hub URL        hub address, with http:// or https://
                                   [env FLEET_HUB, default http://127.0.0.1:8765]
  --token T        admin token     [env FLEET_TOKEN, default: <data-dir>/admin.token]
  --data-dir DIR   where admin.token is looked up [env FLEET_DATA_DIR, default ./data]
  --json           print JSON instead of a table`;

/** Help of `job`. */
export const JOB_HELP = `Usage: fleet-hub job <command>

Commands:
  submit (--template T | --process CMD | --image IMG [--command CMD])
         [--cluster C | --node N] [--env K=V]... [--payload JSON] [--priority P]
         [--max-attempts N] [--timeout-s S]
         [--memory 512M] [--cpus 1.5] [--gpu]      enqueue a job; prints its id (limits
                                                   override the template's)
  list [--state S] [--cluster C] [--node N] [--limit N]
  show ID          state, attempts, result or error, log tail and history
  cancel ID        cancel a pending or running job
  retry ID         re-queue a failed or cancelled job

${CONNECTION}

${EXIT_CODES_HELP}
`;

/** Help of `roamer`. */
export const ROAMER_HELP = `Usage: fleet-hub roamer <command>

Commands:
  list                                    every roamer with state and assignment
  assign ID (--cluster C | --template T | --image IMG [--command CMD] [--env K=V]... [--gpu])
            [--mode until_idle|minutes|manual] [--minutes M]
                                          lend an IDLE roamer; --image pulls IMG on it and
                                          serves no queue (submit jobs with --node ID)
  release ID                              release (the roamer cleans up, then is IDLE)

${CONNECTION}

${EXIT_CODES_HELP}
`;

/** The connection options, for `parseArgs`. */
export const COMMON = {
  hub: { type: "string" },
  token: { type: "string" },
  "data-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** The API client of `--hub`/`--token` (or the control box's admin.token). */
export async function client(values: Record<string, unknown>): Promise<ApiClient> {
  const hub = (values.hub as string | undefined) ?? Deno.env.get("FLEET_HUB") ??
    "http://127.0.0.1:8765";
  checkHubUrl(hub);
  let token = (values.token as string | undefined) ?? Deno.env.get("FLEET_TOKEN");
  if (!token) {
    const dir = (values["data-dir"] as string | undefined) ?? Deno.env.get("FLEET_DATA_DIR") ??
      "./data";
    try {
      token = (await Deno.readTextFile(join(dir, "admin.token"))).trim();
    } catch {
      throw new UsageError(
        `no token: pass --token or set FLEET_TOKEN (or run on the control box with --data-dir)`,
      );
    }
  }
  return new ApiClient({ hub, token });
}

/** A usage error (exit 2) for a hub address that is not an http(s) URL, e.g. without a scheme. */
export function checkHubUrl(hub: string): void {
  let protocol = "";
  try {
    protocol = new URL(hub).protocol;
  } catch { /* not a URL at all */ }
  if (protocol !== "http:" && protocol !== "https:") {
    throw new UsageError(
      `--hub ${hub}: the hub address needs http:// or https:// (e.g. http://${
        hub.replace(/^[a-z]+:\/\//i, "")
      })`,
    );
  }
}

/** A job id argument: a positive whole number, checked before asking the hub. */
export function jobId(id: string | undefined, command: string): string {
  if (!id) throw new UsageError(`usage: fleet-hub job ${command} ID`);
  if (!/^[1-9]\d{0,15}$/.test(id)) {
    throw new UsageError(`job ${command}: ID is a job number (see 'job list'), not ${id}`);
  }
  return id;
}

/** `--minutes M`: a whole number, checked here so "abc" is not sent on as NaN. */
function wholeMinutes(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n)) {
    throw new UsageError(`--minutes: not a whole number of minutes: ${text}`);
  }
  return n;
}

/** Rows as aligned columns. */
export function table(rows: string[][]): string {
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i])).join("  ").trimEnd()).join("\n");
}

function ago(ms: number | null): string {
  if (ms === null) return "-";
  const s = Math.round((Date.now() - ms) / 1000);
  return s < 120
    ? `${s}s ago`
    : s < 7200
    ? `${Math.round(s / 60)}m ago`
    : `${Math.round(s / 3600)}h ago`;
}

/** Turns API errors into one-line refusals (exit 1) with the hub's message. */
export async function call<T>(api: ApiClient, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiError) {
      // Field details the hub's message already spells out are not repeated.
      const fields = error.problem?.errors
        ?.map((e) => `${e.path}: ${e.message}`)
        .filter((f) => !error.message.includes(f))
        .join("; ");
      throw new RefusedError(
        `hub answered ${error.status}: ${error.message}${fields ? ` (${fields})` : ""}`,
      );
    }
    if (error instanceof TypeError || (error instanceof DOMException)) {
      throw new RefusedError(unreachable(api.hub, error));
    }
    throw error;
  }
}

/** Names the URL tried and where it came from, since "fetch failed" alone names neither. */
export function unreachable(hub: string, error: Error): string {
  return `cannot reach the hub at ${hub} (${error.message}): is it running there? ` +
    "Point at another with --hub URL or FLEET_HUB";
}

function printJob(j: JobInfo): void {
  console.log(`job ${j.id}: ${j.state} (attempt ${j.attempts}/${j.max_attempts})`);
  console.log(
    `  ${j.template ? `template ${j.template}` : j.executor}` +
      `${j.image ? ` image ${j.image}` : ""}${
        j.command ? ` command ${JSON.stringify(j.command)}` : ""
      }`,
  );
  console.log(
    `  where: ${j.cluster ? `cluster ${j.cluster}` : j.node ? `node ${j.node}` : "any node"}` +
      `${
        j.claimed_by ? `, ran on ${j.claimed_by}` : ""
      }; priority ${j.priority}; timeout ${j.timeout_s} s`,
  );
  const limits = [
    j.memory_b ? `memory ${Math.round(j.memory_b / 1_048_576)} MiB` : "",
    j.cpus ? `${j.cpus} CPUs` : "",
    j.gpu ? "GPU" : "",
  ].filter(Boolean);
  if (limits.length) console.log(`  limits: ${limits.join(", ")}`);
  if (j.error) console.log(`  error: ${j.error}`);
  if (j.result !== null) console.log(`  result: ${JSON.stringify(j.result)}`);
  for (const h of j.history ?? []) {
    console.log(
      `  ${new Date(h.at).toISOString()}  ${h.state.padEnd(9)} ${h.node ?? ""} ${h.detail ?? ""}`
        .trimEnd(),
    );
  }
  if (j.log_tail) console.log(`  log tail:\n${j.log_tail.replace(/^/gm, "    ")}`);
}

/** `fleet-hub job …`. */
export async function jobCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      template: { type: "string" },
      process: { type: "string" },
      image: { type: "string" },
      command: { type: "string" },
      cluster: { type: "string" },
      node: { type: "string" },
      env: { type: "string", multiple: true },
      payload: { type: "string" },
      priority: { type: "string" },
      "max-attempts": { type: "string" },
      "timeout-s": { type: "string" },
      memory: { type: "string" },
      cpus: { type: "string" },
      gpu: { type: "boolean" },
      state: { type: "string" },
      limit: { type: "string" },
    },
  });
  const [command, id] = positionals;
  if (values.help || !command) {
    console.log(JOB_HELP);
    return values.help ? 0 : 2;
  }
  const api = await client(values);
  const num = (v: string | undefined, name: string) => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new UsageError(`--${name}: not a number: ${v}`);
    return n;
  };
  switch (command) {
    case "submit": {
      const env: Record<string, string> = {};
      for (const kv of values.env ?? []) {
        const i = kv.indexOf("=");
        if (i < 1) throw new UsageError(`--env wants KEY=VALUE, not ${kv}`);
        env[kv.slice(0, i)] = kv.slice(i + 1);
      }
      let payload: unknown;
      if (values.payload !== undefined) {
        try {
          payload = JSON.parse(values.payload);
        } catch {
          throw new UsageError("--payload must be JSON");
        }
      }
      const spec = {
        template: values.template,
        executor: values.process !== undefined ? "process" : values.image ? "docker" : undefined,
        image: values.image,
        command: values.process ?? values.command,
        cluster: values.cluster,
        node: values.node,
        env: Object.keys(env).length ? env : undefined,
        payload,
        priority: num(values.priority, "priority"),
        max_attempts: num(values["max-attempts"], "max-attempts"),
        timeout_s: num(values["timeout-s"], "timeout-s"),
        memory: values.memory,
        cpus: num(values.cpus, "cpus"),
        gpu: values.gpu,
      };
      // Check locally first so a typo is explained without a round trip.
      const checked = JobSubmit.safeParse(JSON.parse(JSON.stringify(spec)));
      if (!checked.success) {
        throw new UsageError(
          checked.error.issues.map((i) =>
            i.message === "give either template or executor"
              ? "say what to run: give one of --template T, --process CMD or --image IMG"
              : `${i.path.join(".") || "job"}: ${i.message}`
          ).join("; "),
        );
      }
      const created = await call(api, () => api.submitJob(JSON.parse(JSON.stringify(spec))));
      console.log(values.json ? JSON.stringify(created) : created.id);
      return 0;
    }
    case "list": {
      if (values.state !== undefined && !JobState.safeParse(values.state).success) {
        throw new UsageError(
          `--state: not a job state: ${values.state} (one of ${JobState.options.join(", ")})`,
        );
      }
      const r = await call(api, () =>
        api.jobs({
          state: values.state,
          cluster: values.cluster,
          node: values.node,
          limit: num(values.limit, "limit") ?? 50,
        }));
      if (values.json) console.log(JSON.stringify(r.jobs, null, 2));
      else {
        console.log(table([
          ["ID", "STATE", "WHAT", "WHERE", "RAN ON", "ATTEMPTS", "CREATED"],
          ...r.jobs.map((j) => [
            j.id,
            j.state,
            j.template ?? j.executor,
            j.cluster ?? j.node ?? "any",
            j.claimed_by ?? "-",
            `${j.attempts}/${j.max_attempts}`,
            ago(j.created_at),
          ]),
        ]));
      }
      return 0;
    }
    case "show":
    case "cancel":
    case "retry": {
      jobId(id, command);
      const j = command === "show"
        ? await call(api, () => api.job(id))
        : await call(api, () => api.jobAction(id, command));
      if (values.json) console.log(JSON.stringify(j, null, 2));
      else printJob(j);
      return 0;
    }
    default:
      throw new UsageError(`unknown job command: ${command}\n\n${JOB_HELP}`);
  }
}

function describeRoamer(r: RoamerInfo): string[] {
  const a = r.assignment;
  return [
    r.node_id,
    r.state + (r.release_requested ? " (releasing)" : ""),
    a
      ? (a.cluster
        ? `cluster ${a.cluster}`
        : a.template
        ? `template ${a.template}`
        : `image ${a.image}`)
      : "-",
    a ? a.mode + (a.until ? ` until ${new Date(a.until).toISOString()}` : "") : "-",
    ago(r.state_at),
    r.detail ?? "",
  ];
}

/** `fleet-hub roamer …`. */
export async function roamerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      ...COMMON,
      cluster: { type: "string" },
      template: { type: "string" },
      image: { type: "string" },
      command: { type: "string" },
      env: { type: "string", multiple: true },
      gpu: { type: "boolean" },
      mode: { type: "string" },
      minutes: { type: "string" },
    },
  });
  const [command, id] = positionals;
  if (values.help || !command) {
    console.log(ROAMER_HELP);
    return values.help ? 0 : 2;
  }
  const api = await client(values);
  switch (command) {
    case "list": {
      const list = await call(api, () => api.roamers());
      if (values.json) console.log(JSON.stringify(list, null, 2));
      else {
        console.log(
          table([
            ["ROAMER", "STATE", "ASSIGNED TO", "MODE", "SINCE", "DETAIL"],
            ...list.map(describeRoamer),
          ]),
        );
      }
      return 0;
    }
    case "assign":
    case "release": {
      if (!id) throw new UsageError(`usage: fleet-hub roamer ${command} ID`);
      let r: RoamerInfo;
      if (command === "assign") {
        const env: Record<string, string> = {};
        for (const kv of values.env ?? []) {
          const i = kv.indexOf("=");
          if (i < 1) throw new UsageError(`--env wants KEY=VALUE, not ${kv}`);
          env[kv.slice(0, i)] = kv.slice(i + 1);
        }
        const body = {
          cluster: values.cluster,
          template: values.template,
          image: values.image,
          command: values.command,
          env: values.env ? env : undefined,
          gpu: values.gpu,
          mode: values.mode,
          minutes: values.minutes === undefined ? undefined : wholeMinutes(values.minutes),
        };
        const checked = RoamerAssign.safeParse(JSON.parse(JSON.stringify(body)));
        if (!checked.success) {
          throw new UsageError(
            checked.error.issues.map((i) => `${i.path.join(".") || "assign"}: ${i.message}`).join(
              "; ",
            ),
          );
        }
        r = await call(api, () => api.assignRoamer(id, JSON.parse(JSON.stringify(body))));
      } else {
        r = await call(api, () => api.releaseRoamer(id));
      }
      if (values.json) console.log(JSON.stringify(r, null, 2));
      else {console.log(
          table([["ROAMER", "STATE", "ASSIGNED TO", "MODE", "SINCE", "DETAIL"], describeRoamer(r)]),
        );}
      return 0;
    }
    default:
      throw new UsageError(`unknown roamer command: ${command}\n\n${ROAMER_HELP}`);
  }
}
