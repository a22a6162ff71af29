/**
 * A snapshot's tree: its entries as NDJSON in path order, split by the same content-defined
 * chunker as file data and stored as ordinary chunks (an unchanged tree costs no upload, and a
 * large one stays under the object limit). Reading validates every line.
 *
 * @module
 */
import { chunkStream, memorySource } from "./chunker.ts";
import { BackupError } from "./errors.ts";
import { chunkId } from "./format.ts";
import type { Repo } from "./repo.ts";
import { describeIssues, type Manifest, treeEntrySchema } from "./schema.ts";
import type { ChunkRef, TreeEntry } from "./types.ts";

const ORDER: (keyof TreeEntry)[] = [
  "path",
  "type",
  "mode",
  "uid",
  "gid",
  "mtimeMs",
  "ctimeMs",
  "ino",
  "size",
  "target",
  "linkTo",
  "rdev",
  "changed",
  "chunks",
];

/** The entry with its keys in one fixed order, so equal entries encode to equal bytes. */
export function canonical(e: TreeEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ORDER) if (e[k] !== undefined) out[k] = e[k];
  return out;
}

/** Encodes entries and yields their chunks (plain bytes with ids). */
export async function* treeChunks(
  repo: Repo,
  entries: TreeEntry[],
): AsyncGenerator<{ id: string; data: Uint8Array }> {
  const text = entries.map((e) => JSON.stringify(canonical(e))).join("\n") + "\n";
  const bytes = new TextEncoder().encode(text);
  for await (const data of chunkStream(memorySource(bytes), repo.gear, repo.chunker)) {
    yield { id: await chunkId(data, repo.keys), data };
  }
}

/** Reads a manifest's tree: every chunk verified, every entry validated. */
export async function loadTree(
  repo: Repo,
  m: Manifest,
  signal?: AbortSignal,
): Promise<TreeEntry[]> {
  const parts: Uint8Array[] = [];
  for (const ref of m.tree as ChunkRef[]) parts.push(await repo.getChunk(ref.id, signal));
  const total = parts.reduce((a, p) => a + p.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    all.set(p, o);
    o += p.length;
  }
  const lines = new TextDecoder().decode(all).split("\n");
  const out: TreeEntry[] = [];
  let prev = "";
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]) continue;
    let json: unknown;
    try {
      json = JSON.parse(lines[i]);
    } catch {
      throw new BackupError("bad-manifest", `snapshot ${m.id}: tree line ${i + 1} is not JSON`);
    }
    const parsed = treeEntrySchema.safeParse(json);
    if (!parsed.success) {
      throw new BackupError(
        "bad-manifest",
        describeIssues(parsed.error, `snapshot ${m.id}: tree line ${i + 1}`),
      );
    }
    if (parsed.data.path <= prev) {
      throw new BackupError(
        "bad-manifest",
        `snapshot ${m.id}: tree line ${i + 1}: paths out of order or repeated`,
      );
    }
    prev = parsed.data.path;
    out.push(parsed.data as TreeEntry);
  }
  return out;
}
