/**
 * The agent's on-disk spool: every sample is appended here before it is sent, and removed only
 * after the hub acknowledged it, so neither a hub outage nor an agent crash loses a sample.
 * Segments are NDJSON files named by their first seq; the spool is bounded by total size and by
 * age, dropping the oldest segments first and counting what it dropped. `cursor.json` holds the
 * highest acknowledged seq, so seqs keep increasing across restarts.
 *
 * @module
 */
import { join } from "../shared/join_path.ts";
import type { Sample, SampleMetrics } from "../shared/protocol/mod.ts";
import { SEQ_MAX } from "../shared/protocol/constants.ts";
import { getLogger } from "../shared/log.ts";

const logger = getLogger("spool");
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Limits of a {@link Spool}. */
export interface SpoolOptions {
  dir: string;
  /** Total size of all segments (default 64 MiB). */
  maxBytes?: number;
  /** Oldest sample kept (default 24 h). */
  maxAgeMs?: number;
  /** Size at which a new segment starts (default 1 MiB). */
  segmentBytes?: number;
}

interface Segment {
  file: string;
  firstSeq: number;
  lastSeq: number;
  /** Collection time of the segment's newest sample. */
  lastTs: number;
  bytes: number;
  count: number;
}

interface Cursor {
  acked_seq: number;
  dropped: number;
}

function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, "0")}.ndjson`;
}

function parseLines(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as Sample);
    } catch {
      // A torn last line from a crash mid-write: the sample was never acknowledged, skip it.
    }
  }
  return out;
}

/**
 * A bounded, crash-safe queue of samples on disk.
 *
 * @example
 * ```ts
 * const spool = await Spool.open({ dir: "/var/lib/fleet-agent/spool" });
 * await spool.append({ cpu: { pct: 3 } }, Date.now());
 * const batch = await spool.pending(200);
 * await spool.ack(batch.at(-1)!.seq);
 * ```
 */
export class Spool {
  readonly dir: string;
  #maxBytes: number;
  #maxAgeMs: number;
  #segmentBytes: number;
  #segments: Segment[] = [];
  #cursor: Cursor = { acked_seq: 0, dropped: 0 };
  #lastSeq = 0;
  #file: Deno.FsFile | undefined;
  #floorIgnored = false;

  private constructor(options: SpoolOptions) {
    this.dir = options.dir;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.#maxAgeMs = options.maxAgeMs ?? 24 * 3_600_000;
    this.#segmentBytes = options.segmentBytes ?? 1024 * 1024;
  }

  /** Opens (creating) the spool in `options.dir` and recovers its state from disk. */
  static async open(options: SpoolOptions): Promise<Spool> {
    const spool = new Spool(options);
    await Deno.mkdir(options.dir, { recursive: true, mode: 0o700 });
    await spool.#load();
    return spool;
  }

  async #load(): Promise<void> {
    try {
      const c = JSON.parse(await Deno.readTextFile(join(this.dir, "cursor.json")));
      this.#cursor = { acked_seq: Number(c.acked_seq) || 0, dropped: Number(c.dropped) || 0 };
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) {
        logger.warn("spool cursor unreadable; starting from its segments", { error });
      }
    }
    const names: string[] = [];
    for await (const e of Deno.readDir(this.dir)) {
      if (e.isFile && /^seg-\d{16}\.ndjson$/.test(e.name)) names.push(e.name);
    }
    names.sort();
    for (const name of names) {
      const file = join(this.dir, name);
      const bytes = await Deno.readFile(file);
      const samples = parseLines(decoder.decode(bytes));
      if (samples.length === 0) {
        await Deno.remove(file);
        continue;
      }
      this.#segments.push({
        file,
        firstSeq: samples[0].seq,
        lastSeq: samples.at(-1)!.seq,
        lastTs: samples.at(-1)!.ts,
        bytes: bytes.length,
        count: samples.length,
      });
    }
    this.#lastSeq = Math.max(this.#cursor.acked_seq, this.#segments.at(-1)?.lastSeq ?? 0);
    if (this.#lastSeq > SEQ_MAX) await this.#restartSeqs();
  }

  // An old hub once took a bogus seq near 2^53 and this spool followed it: no hub takes those now.
  async #restartSeqs(): Promise<void> {
    const lost = this.backlog;
    for (const seg of this.#segments) await Deno.remove(seg.file).catch(() => {});
    this.#segments = [];
    this.#cursor = { acked_seq: 0, dropped: this.#cursor.dropped + lost };
    logger.warn("spool seqs beyond the protocol's maximum; starting seqs over", {
      last_seq: this.#lastSeq,
      max: SEQ_MAX,
      dropped: lost,
    });
    this.#lastSeq = 0;
    await this.#saveCursor();
  }

  /** Highest seq ever assigned. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Highest seq the hub acknowledged. */
  get ackedSeq(): number {
    return this.#cursor.acked_seq;
  }

  /** Samples dropped since the spool was created: by the size/age bounds, or refused by the hub. */
  get dropped(): number {
    return this.#cursor.dropped;
  }

  /** Samples waiting to be acknowledged. */
  get backlog(): number {
    let n = 0;
    for (const s of this.#segments) {
      if (s.lastSeq > this.#cursor.acked_seq) {
        n += s.firstSeq > this.#cursor.acked_seq
          ? s.count
          : s.count - (this.#cursor.acked_seq - s.firstSeq + 1);
      }
    }
    return n;
  }

  /** Bytes on disk. */
  get bytes(): number {
    return this.#segments.reduce((a, s) => a + s.bytes, 0);
  }

  /**
   * Makes sure future seqs are above `seq` (the hub's last seq for this node), so an agent whose
   * state dir was wiped never reuses a seq the hub already holds.
   */
  raiseSeqFloor(seq: number): void {
    if (seq > SEQ_MAX) {
      // An old hub pinned by a bogus seq: following it would make every later seq unacceptable.
      if (!this.#floorIgnored) {
        logger.warn("hub reports a last seq beyond the protocol's maximum; ignoring it", {
          hub_last_seq: seq,
        });
      }
      this.#floorIgnored = true;
      return;
    }
    if (seq > this.#lastSeq) {
      logger.warn("hub holds newer seqs than this spool; continuing above them", {
        spool_last_seq: this.#lastSeq,
        hub_last_seq: seq,
      });
      this.#lastSeq = seq;
    }
  }

  /** Gives `metrics` the next seq and appends it; returns the stored sample. */
  async append(metrics: SampleMetrics, ts: number): Promise<Sample> {
    // Assign the seq before any await so concurrent appends never share one.
    const sample: Sample = { ...metrics, seq: ++this.#lastSeq, ts };
    const line = encoder.encode(JSON.stringify(sample) + "\n");
    let seg = this.#segments.at(-1);
    if (!seg || !this.#file || seg.bytes + line.length > this.#segmentBytes) {
      this.#file?.close();
      this.#file = undefined;
      const file = join(this.dir, segmentName(sample.seq));
      const handle = await Deno.open(file, { create: true, append: true, mode: 0o600 });
      this.#file = handle;
      seg = {
        file,
        firstSeq: sample.seq,
        lastSeq: sample.seq,
        lastTs: sample.ts,
        bytes: 0,
        count: 0,
      };
      this.#segments.push(seg);
    }
    // Account for the line before writing it, so a concurrent ack never deletes this segment.
    seg.lastSeq = sample.seq;
    seg.lastTs = sample.ts;
    seg.bytes += line.length;
    seg.count++;
    const handle = this.#file!;
    for (let off = 0; off < line.length;) off += await handle.write(line.subarray(off));
    await this.#enforceBounds(sample.ts);
    return sample;
  }

  async #enforceBounds(now: number): Promise<void> {
    let changed = false;
    // Keep at least the segment being written to.
    while (this.#segments.length > 1) {
      const oldest = this.#segments[0];
      const tooBig = this.bytes > this.#maxBytes;
      const tooOld = now - oldest.lastTs > this.#maxAgeMs;
      if (!tooBig && !tooOld) break;
      const unacked = oldest.lastSeq <= this.#cursor.acked_seq ? 0 : oldest.firstSeq >
          this.#cursor.acked_seq
        ? oldest.count
        : oldest.lastSeq - this.#cursor.acked_seq;
      this.#segments.shift();
      await Deno.remove(oldest.file).catch(() => {});
      if (unacked > 0) {
        this.#cursor.dropped += unacked;
        this.#cursor.acked_seq = Math.max(this.#cursor.acked_seq, oldest.lastSeq);
        logger.warn("spool full: dropped oldest unsent samples", {
          dropped: unacked,
          reason: tooBig ? "size" : "age",
          total_dropped: this.#cursor.dropped,
        });
        changed = true;
      }
    }
    if (changed) await this.#saveCursor();
  }

  /** Up to `limit` unacknowledged samples, oldest first. */
  async pending(limit: number): Promise<Sample[]> {
    const out: Sample[] = [];
    for (const seg of this.#segments) {
      if (seg.lastSeq <= this.#cursor.acked_seq) continue;
      const text = await Deno.readTextFile(seg.file);
      for (const s of parseLines(text)) {
        if (s.seq > this.#cursor.acked_seq) out.push(s);
        if (out.length >= limit) return out;
      }
    }
    return out;
  }

  /** Records that the hub holds every sample up to `seq`; deletes fully sent segments. */
  async ack(seq: number): Promise<void> {
    if (seq <= this.#cursor.acked_seq) return;
    this.#cursor.acked_seq = Math.min(seq, this.#lastSeq);
    await this.#saveCursor();
    while (this.#segments.length && this.#segments[0].lastSeq <= this.#cursor.acked_seq) {
      const seg = this.#segments.shift()!;
      if (this.#segments.length === 0) {
        this.#file?.close();
        this.#file = undefined;
      }
      await Deno.remove(seg.file).catch(() => {});
    }
  }

  /**
   * Records that the hub refused sample `seq` (the oldest pending one): it is counted in
   * {@link dropped} and never sent again.
   */
  async drop(seq: number): Promise<void> {
    if (seq <= this.#cursor.acked_seq) return;
    this.#cursor.dropped++;
    await this.ack(seq);
  }

  async #saveCursor(): Promise<void> {
    const tmp = join(this.dir, "cursor.json.tmp");
    await Deno.writeTextFile(tmp, JSON.stringify(this.#cursor), { mode: 0o600 });
    await Deno.rename(tmp, join(this.dir, "cursor.json"));
  }

  /** Closes the open segment. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}
