/**
 * The scan of a backup: every entry under the root (or under the chosen paths, plus their parent
 * directories) with its lstat, in path order; hard links recognised by device and inode.
 * Sockets are skipped (they cannot be restored) and reported.
 *
 * @module
 */
import { BackupError } from "./errors.ts";
import { isSafeRelPath } from "./schema.ts";
import type { BackupWarning, EntryType, TreeEntry } from "./types.ts";

/** An entry found by the scan, before its content is read. */
export interface ScanEntry extends TreeEntry {
  abs: string;
  dev: number;
  ino: number;
  nlink: number;
}

/** `*` within a segment, `**` across segments, `?` one character; no slash matches basenames. */
export function globToRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === "*" && glob[i + 1] === "*") {
      re += ".*";
      i++;
      if (glob[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

function entryType(s: Deno.FileInfo): EntryType | null {
  if (s.isSymlink) return "symlink";
  if (s.isDirectory) return "dir";
  if (s.isFile) return "file";
  if (s.isCharDevice) return "char";
  if (s.isBlockDevice) return "block";
  if (s.isFifo) return "fifo";
  return null;
}

/** Builds the entry of `rel` from its lstat; null for sockets and unknown types. */
export function fromStat(rel: string, abs: string, s: Deno.FileInfo): ScanEntry | null {
  const type = entryType(s);
  if (!type) return null;
  return {
    path: rel,
    abs,
    type,
    mode: (s.mode ?? 0o644) & 0o7777,
    uid: s.uid ?? 0,
    gid: s.gid ?? 0,
    mtimeMs: s.mtime?.getTime() ?? 0,
    ...(type === "file" ? { size: s.size, ctimeMs: s.ctime?.getTime() ?? 0 } : {}),
    ...(type === "char" || type === "block" ? { rdev: s.rdev ?? 0 } : {}),
    dev: s.dev ?? 0,
    ino: s.ino ?? 0,
    nlink: s.nlink ?? 1,
  };
}

/** Walks `root` (or `paths` in it); calls `onEntry` per entry for progress. */
export async function scan(
  root: string,
  paths: string[] | undefined,
  exclude: string[] | undefined,
  warnings: BackupWarning[],
  onEntry: (e: ScanEntry) => void,
  signal?: AbortSignal,
): Promise<ScanEntry[]> {
  const excl = (exclude ?? []).map((g) => ({ re: globToRegExp(g), base: !g.includes("/") }));
  const excluded = (rel: string) =>
    excl.some((x) => x.re.test(rel) || (x.base && x.re.test(rel.slice(rel.lastIndexOf("/") + 1))));
  const found = new Map<string, ScanEntry>();
  const add = (rel: string, abs: string, s: Deno.FileInfo) => {
    const e = fromStat(rel, abs, s);
    if (!e) {
      warnings.push({ path: rel, kind: "skipped-type", message: "socket or unknown type skipped" });
      return null;
    }
    if (e.type === "symlink") {
      try {
        e.target = Deno.readLinkSync(abs);
      } catch (err) {
        warnings.push({ path: rel, kind: "unreadable", message: (err as Error).message });
        return null;
      }
    }
    found.set(rel, e);
    onEntry(e);
    return e;
  };
  const stack: string[] = [];
  const starts = paths?.length ? paths : [""];
  for (const p of starts) {
    const rel = p.replace(/^\.?\/+|\/+$/g, "");
    if (rel && !isSafeRelPath(rel)) {
      throw new BackupError("bad-input", `path "${p}" must be relative to the root, without '..'`);
    }
    if (!rel) {
      stack.push("");
      continue;
    }
    // Parents of a chosen path are recorded, so a restore recreates them with their modes.
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join("/");
      if (found.has(parent)) continue;
      const s = await Deno.lstat(`${root}/${parent}`).catch(() => null);
      if (!s?.isDirectory) {
        throw new BackupError("bad-input", `"${parent}" under ${root} is not a directory`);
      }
      add(parent, `${root}/${parent}`, s);
    }
    const s = await Deno.lstat(`${root}/${rel}`).catch(() => null);
    if (!s) throw new BackupError("bad-input", `"${rel}" does not exist under ${root}`);
    const e = add(rel, `${root}/${rel}`, s);
    if (e?.type === "dir") stack.push(rel);
  }
  while (stack.length) {
    if (signal?.aborted) throw new BackupError("aborted", "backup aborted");
    const dirRel = stack.pop()!;
    const dirAbs = dirRel ? `${root}/${dirRel}` : root;
    let names: string[];
    try {
      names = [];
      for await (const d of Deno.readDir(dirAbs)) names.push(d.name);
    } catch (err) {
      warnings.push({ path: dirRel || ".", kind: "unreadable", message: (err as Error).message });
      continue;
    }
    for (const name of names) {
      const rel = dirRel ? `${dirRel}/${name}` : name;
      if (found.has(rel) || excluded(rel)) continue;
      const abs = `${dirAbs}/${name}`;
      let s: Deno.FileInfo;
      try {
        s = await Deno.lstat(abs);
      } catch (err) {
        const gone = err instanceof Deno.errors.NotFound;
        warnings.push({
          path: rel,
          kind: gone ? "vanished" : "unreadable",
          message: gone ? "removed during the scan" : (err as Error).message,
        });
        continue;
      }
      const e = add(rel, abs, s);
      if (e?.type === "dir") stack.push(rel);
    }
  }
  const entries = [...found.values()].sort((a, b) => (a.path < b.path ? -1 : 1));
  // The first path of an inode with several links holds the data; the others link to it.
  const firstOf = new Map<string, string>();
  for (const e of entries) {
    if (e.type !== "file" || e.nlink < 2) continue;
    const k = `${e.dev}:${e.ino}`;
    const first = firstOf.get(k);
    if (first === undefined) firstOf.set(k, e.path);
    else {
      e.type = "hardlink";
      e.linkTo = first;
      delete e.size;
    }
  }
  return entries;
}
