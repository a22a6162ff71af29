/**
 * Content-defined chunking (FastCDC with normalized chunking, Xia et al. 2016): a gear rolling
 * hash `h = (h << 1) + GEAR[byte]` over the bytes after the minimum size; a cut where the hash's
 * top bits are all zero. Between `min` and `avg` a harder mask (22 bits) applies, after it an
 * easier one (18 bits), which pulls sizes towards `avg` (~1 MiB). Because a cut depends only on
 * the last 32 bytes, inserting bytes in the middle of a file changes the chunks around the edit and
 * the rest resynchronise. The gear table comes from a per-repository seed, so chunk sizes do not
 * reveal the same content across repositories.
 *
 * @module
 */

/** Chunk size bounds; `max` stays far under the 8 MiB object limit after compression/encryption. */
export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

/** The defaults: 256 KiB / 1 MiB / 4 MiB. */
export const DEFAULT_CHUNKER: ChunkerParams = {
  min: 256 * 1024,
  avg: 1024 * 1024,
  max: 4 * 1024 * 1024,
};

/** Top 22 and 18 bits: cut probability 2^-22 before avg, 2^-18 after. */
const MASK_S = 0xfffffc00 | 0;
const MASK_L = 0xffffc000 | 0;

/** The 256-entry gear table from a seed (SHA-256 of seed ‖ counter, 8 words per digest). */
export async function gearTable(seed: Uint8Array): Promise<Int32Array> {
  const table = new Int32Array(256);
  for (let block = 0; block < 32; block++) {
    const input = new Uint8Array(seed.length + 1);
    input.set(seed);
    input[seed.length] = block;
    const words = new DataView(await crypto.subtle.digest("SHA-256", input));
    for (let i = 0; i < 8; i++) table[block * 8 + i] = words.getInt32(i * 4);
  }
  return table;
}

/** Length of the next chunk of `buf[start, end)`; call with at least `max` bytes unless at EOF. */
export function nextCut(
  buf: Uint8Array,
  start: number,
  end: number,
  gear: Int32Array,
  p: ChunkerParams,
): number {
  const n = end - start;
  if (n <= p.min) return n;
  const limit = n < p.max ? n : p.max;
  const normal = p.avg < limit ? p.avg : limit;
  let h = 0;
  let i = start + p.min;
  const stopS = start + normal;
  for (; i < stopS; i++) {
    h = ((h << 1) + gear[buf[i]]) | 0;
    if ((h & MASK_S) === 0) return i - start + 1;
  }
  const stopL = start + limit;
  for (; i < stopL; i++) {
    h = ((h << 1) + gear[buf[i]]) | 0;
    if ((h & MASK_L) === 0) return i - start + 1;
  }
  return limit;
}

/** Something bytes are read from (a `Deno.FsFile` or a memory reader). */
export interface ByteSource {
  read(p: Uint8Array): Promise<number | null>;
}

/** A read buffer for {@link chunkStream} (reuse one across files: chunks are copied out). */
export function chunkBuffer(p: ChunkerParams = DEFAULT_CHUNKER): Uint8Array {
  return new Uint8Array(p.max + 8 * 1024 * 1024);
}

/**
 * Splits a stream into chunks (each a fresh copy). Reads through a buffer of `max + 8 MiB`, so
 * memory stays bounded whatever the file size.
 */
export async function* chunkStream(
  src: ByteSource,
  gear: Int32Array,
  p: ChunkerParams = DEFAULT_CHUNKER,
  buf: Uint8Array = chunkBuffer(p),
): AsyncGenerator<Uint8Array> {
  if (buf.length < p.max * 2) throw new Error("chunk buffer too small");
  let start = 0;
  let end = 0;
  let eof = false;
  while (true) {
    if (!eof && end - start < p.max) {
      if (start > 0) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      while (end < buf.length) {
        const n = await src.read(buf.subarray(end));
        if (n === null) {
          eof = true;
          break;
        }
        end += n;
      }
    }
    if (start === end) return;
    const len = nextCut(buf, start, end, gear, p);
    yield buf.slice(start, start + len);
    start += len;
  }
}

/** A {@link ByteSource} over bytes in memory. */
export function memorySource(bytes: Uint8Array): ByteSource {
  let pos = 0;
  return {
    read(p) {
      if (pos >= bytes.length) return Promise.resolve(null);
      const n = Math.min(p.length, bytes.length - pos);
      p.set(bytes.subarray(pos, pos + n));
      pos += n;
      return Promise.resolve(n);
    },
  };
}
