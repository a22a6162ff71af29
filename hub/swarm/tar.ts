/**
 * A streamed ustar archive of a build context directory, for the Engine API's `/build`. Follows
 * the context's `.dockerignore` (names, `dir/`, `*` and `**` globs, `!` exceptions), never
 * follows symlinks (they are archived as links), and stops at a size and file-count bound.
 *
 * @module
 */
import { join, relative } from "node:path";

/** Largest context archived (bytes of file content). */
export const MAX_CONTEXT_BYTES = 2 * 1024 ** 3;
/** Most entries archived. */
export const MAX_CONTEXT_ENTRIES = 100_000;

const encoder = new TextEncoder();

/** A `.dockerignore` pattern as a test of a relative path. */
function globRegExp(pattern: string): RegExp {
  let p = pattern.replace(/^\/+/, "").replace(/\/+$/, "");
  if (p.startsWith("./")) p = p.slice(2);
  let re = "";
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === "*" && p[i + 1] === "*") {
      re += ".*";
      i++;
      if (p[i + 1] === "/") i++;
    } else if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  // A pattern matching a directory excludes everything below it.
  return new RegExp(`^${re}(/.*)?$`);
}

/** The ignore test of a `.dockerignore` text (later lines win, `!` re-includes). */
export function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))
    .map((l) =>
      l.startsWith("!")
        ? { keep: true, re: globRegExp(l.slice(1)) }
        : { keep: false, re: globRegExp(l) }
    );
  return (path) => {
    let ignored = false;
    for (const r of rules) if (r.re.test(path)) ignored = !r.keep;
    return ignored;
  };
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** One 512-byte ustar header. */
function header(
  name: string,
  o: { size: number; mode: number; mtime: number; type: "0" | "2" | "5"; link?: string },
): Uint8Array {
  const h = new Uint8Array(512);
  let prefix = "";
  let base = name;
  if (encoder.encode(name).length > 100) {
    // ustar: split at a '/' into a prefix (≤ 155) and a name (≤ 100).
    const at = name.lastIndexOf("/", 155);
    if (at <= 0 || encoder.encode(name.slice(at + 1)).length > 100) {
      throw new Error(`path too long for the build context archive: ${name}`);
    }
    prefix = name.slice(0, at);
    base = name.slice(at + 1);
  }
  const put = (s: string, off: number, len: number) =>
    h.set(encoder.encode(s).subarray(0, len), off);
  put(base, 0, 100);
  put(octal(o.mode & 0o7777, 8), 100, 8);
  put(octal(0, 8), 108, 8);
  put(octal(0, 8), 116, 8);
  put(octal(o.size, 12), 124, 12);
  put(octal(Math.floor(o.mtime / 1000), 12), 136, 12);
  put("        ", 148, 8);
  put(o.type, 156, 1);
  if (o.link) put(o.link, 157, 100);
  put("ustar\0", 257, 6);
  put("00", 263, 2);
  put(prefix, 345, 155);
  let sum = 0;
  for (const b of h) sum += b;
  put(octal(sum, 7) + " ", 148, 8);
  return h;
}

/**
 * The archive of `dir` as a stream. Errors (a bound passed, an unreadable file) error the
 * stream with a message naming the path.
 */
export function tarDirectory(dir: string): ReadableStream<Uint8Array> {
  async function* entries(): AsyncGenerator<Uint8Array> {
    const ignoreText = await Deno.readTextFile(join(dir, ".dockerignore")).catch(() => "");
    const ignored = dockerIgnore(ignoreText);
    let bytes = 0;
    let count = 0;
    const walk = async function* (abs: string): AsyncGenerator<Uint8Array> {
      const names: Deno.DirEntry[] = [];
      for await (const e of Deno.readDir(abs)) names.push(e);
      names.sort((a, b) => a.name.localeCompare(b.name));
      for (const e of names) {
        const path = join(abs, e.name);
        const rel = relative(dir, path);
        if (rel === ".git" || ignored(rel)) continue;
        if (++count > MAX_CONTEXT_ENTRIES) {
          throw new Error(`the build context has more than ${MAX_CONTEXT_ENTRIES} entries`);
        }
        const st = await Deno.lstat(path);
        const mtime = st.mtime?.getTime() ?? 0;
        const mode = st.mode ?? 0o644;
        if (st.isSymlink) {
          yield header(rel, { size: 0, mode, mtime, type: "2", link: await Deno.readLink(path) });
        } else if (st.isDirectory) {
          yield header(rel + "/", { size: 0, mode, mtime, type: "5" });
          yield* walk(path);
        } else if (st.isFile) {
          bytes += st.size;
          if (bytes > MAX_CONTEXT_BYTES) {
            throw new Error(`the build context is larger than ${MAX_CONTEXT_BYTES} bytes`);
          }
          yield header(rel, { size: st.size, mode, mtime, type: "0" });
          const f = await Deno.open(path, { read: true });
          let left = st.size;
          try {
            const buf = new Uint8Array(65_536);
            while (left > 0) {
              const n = await f.read(buf.subarray(0, Math.min(buf.length, left)));
              if (n === null) break;
              yield buf.slice(0, n);
              left -= n;
            }
          } finally {
            f.close();
          }
          // A file that shrank meanwhile is padded to its announced size.
          if (left > 0) yield new Uint8Array(left);
          const pad = (512 - (st.size % 512)) % 512;
          if (pad) yield new Uint8Array(pad);
        }
      }
    };
    yield* walk(dir);
    yield new Uint8Array(1024);
  }
  const it = entries();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await it.next();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
      }
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}
