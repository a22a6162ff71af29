/**
 * The contract every collector meets. A collector reads one source (procfs, sysfs, a command,
 * the Docker socket) below a configurable root so tests can point it at fixtures, and returns the
 * part of a sample it knows. Collectors that compute rates keep their previous reading inside the
 * instance; their first call returns no rates (absent fields), never zeros.
 *
 * @module
 */
import type { SampleMetrics } from "../../shared/protocol/mod.ts";

/** What a collector is given on each call. */
export interface CollectContext {
  /** Filesystem root the collector reads below (`/` on a real node, a fixture dir in tests). */
  root: string;
  /** Collection time in ms since the epoch; rates are computed from the difference. */
  now: number;
}

/** One source of metrics. */
export interface Collector {
  /** Short name for logs (`proc`, `thermal`, `tegrastats`). */
  readonly name: string;
  /** Returns the fields this source knows; throws when the source is broken. */
  collect(ctx: CollectContext): Promise<Partial<SampleMetrics>>;
  /** Releases processes or handles (e.g. a long-running tegrastats). */
  close?(): void | Promise<void>;
}
