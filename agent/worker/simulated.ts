/**
 * A simulated executor for the demo fleet: "runs" a job for a few seconds (deterministic per job
 * id), prints progress lines like a generation job would, and fails about one job in twenty, so
 * the queue, the retries and the roamer pool have something to show. Never used on real nodes.
 *
 * @module
 */
import type { JobSpec } from "../../shared/protocol/mod.ts";
import type { ExecOptions, ExecResult, Executor } from "./executor.ts";

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0) / 2 ** 32;
}

/** Creates a simulated executor of `kind` whose jobs last `minMs`–`maxMs`. */
export function createSimulatedExecutor(
  kind: JobSpec["executor"],
  minMs = 3000,
  maxMs = 15_000,
): Executor {
  return {
    kind,
    run(job: JobSpec, options: ExecOptions): Promise<ExecResult> {
      const started_at = Date.now();
      const r = hash(`${job.id}:${job.attempt}`);
      const duration = minMs + r * (maxMs - minMs);
      const fails = hash(`fail:${job.id}:${job.attempt}`) < 0.05;
      let output = "";
      const say = (line: string) => {
        output += line + "\n";
        options.onOutput?.(line + "\n");
      };
      say(`[demo] ${job.image ?? job.executor} job ${job.id} attempt ${job.attempt}`);
      return new Promise((resolve) => {
        let step = 0;
        const steps = 5;
        const timer = setInterval(() => {
          step++;
          say(`[demo] step ${step}/${steps}`);
          if (step < steps) return;
          finish(fails ? 1 : 0);
        }, duration / steps);
        const finish = (code: number | null, cancelled = false) => {
          clearInterval(timer);
          options.signal.removeEventListener("abort", onAbort);
          if (code !== null) say(code === 0 ? "[demo] done" : "[demo] simulated failure");
          resolve({
            exit_code: code,
            timed_out: false,
            cancelled,
            output,
            truncated: false,
            started_at,
            ended_at: Date.now(),
          });
        };
        const onAbort = () => finish(null, true);
        options.signal.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}
