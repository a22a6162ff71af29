/**
 * How bytes become objects: chunk ids, per-object compression and optional AES-256-GCM.
 *
 * Object layout (chunks, trees and manifests alike):
 * - plain: `0x01 ‖ codec ‖ payload`
 * - encrypted: `0x02 ‖ iv(12) ‖ AES-GCM(codec ‖ payload)`, with the object's id as additional
 *   data, so an object swapped under another name fails to decrypt.
 *
 * `codec` is 0 (stored) or 1 (deflate-raw, kept only when it saves at least 1/32). Chunk ids are
 * hex SHA-256 of the plain bytes in a plain repository and HMAC-SHA-256 with a repository secret
 * in an encrypted one (so ids do not reveal whether a known file is stored).
 *
 * @module
 */
import { BackupError } from "./errors.ts";
import { fromBase64, toBase64 } from "../base64.ts";

const FORMAT_PLAIN = 1;
const FORMAT_ENCRYPTED = 2;
const CODEC_STORED = 0;
const CODEC_DEFLATE = 1;

/** The secrets of an encrypted repository (from the wrapped master key). */
export interface RepoKeys {
  enc: CryptoKey;
  mac: CryptoKey;
  /** Seed of the chunker's gear table (derived from the master key). */
  chunkerSeed: Uint8Array;
}

const hexOf = (b: ArrayBuffer) =>
  Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");

/** The id of plain bytes: SHA-256, or HMAC-SHA-256 under the repository's MAC key. */
export async function chunkId(data: Uint8Array, keys: RepoKeys | null): Promise<string> {
  const d = data as Uint8Array<ArrayBuffer>;
  return hexOf(
    keys ? await crypto.subtle.sign("HMAC", keys.mac, d) : await crypto.subtle.digest("SHA-256", d),
  );
}

async function pipe(data: Uint8Array, t: CompressionStream | DecompressionStream) {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(t);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** True when a 64 KiB sample does not compress (random or already compressed data). */
async function incompressible(data: Uint8Array): Promise<boolean> {
  if (data.length < 128 * 1024) return false;
  const mid = Math.floor(data.length / 2);
  const sample = data.subarray(mid, mid + 64 * 1024);
  const z = await pipe(sample, new CompressionStream("deflate-raw"));
  return z.length > sample.length * 0.97;
}

/** Encodes plain bytes as an object named `id` (compressed when it helps, then encrypted). */
export async function encodeObject(
  data: Uint8Array,
  id: string,
  keys: RepoKeys | null,
  compress = true,
): Promise<Uint8Array> {
  let codec = CODEC_STORED;
  let payload = data;
  if (compress && data.length > 64 && !(await incompressible(data))) {
    const z = await pipe(data, new CompressionStream("deflate-raw"));
    if (z.length < data.length - (data.length >> 5)) {
      codec = CODEC_DEFLATE;
      payload = z;
    }
  }
  if (!keys) {
    const out = new Uint8Array(payload.length + 2);
    out[0] = FORMAT_PLAIN;
    out[1] = codec;
    out.set(payload, 2);
    return out;
  }
  const inner = new Uint8Array(payload.length + 1);
  inner[0] = codec;
  inner.set(payload, 1);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(id) },
      keys.enc,
      inner,
    ),
  );
  const out = new Uint8Array(1 + 12 + ct.length);
  out[0] = FORMAT_ENCRYPTED;
  out.set(iv, 1);
  out.set(ct, 13);
  return out;
}

/** Decodes an object named `id`; `integrity` / `wrong-key` errors when it cannot be opened. */
export async function decodeObject(
  obj: Uint8Array,
  id: string,
  keys: RepoKeys | null,
): Promise<Uint8Array> {
  let inner: Uint8Array;
  if (obj[0] === FORMAT_PLAIN && obj.length >= 2) {
    if (keys) {
      throw new BackupError(
        "integrity",
        `object ${id} is not encrypted in an encrypted repository`,
      );
    }
    inner = obj.subarray(1);
  } else if (obj[0] === FORMAT_ENCRYPTED && obj.length >= 1 + 12 + 16 + 1) {
    if (!keys) throw new BackupError("encryption-mismatch", `object ${id} is encrypted`);
    try {
      inner = new Uint8Array(
        await crypto.subtle.decrypt(
          {
            name: "AES-GCM",
            iv: obj.subarray(1, 13) as Uint8Array<ArrayBuffer>,
            additionalData: new TextEncoder().encode(id),
          },
          keys.enc,
          obj.subarray(13) as Uint8Array<ArrayBuffer>,
        ),
      );
    } catch {
      throw new BackupError("integrity", `object ${id} does not decrypt (corrupt or swapped)`);
    }
  } else {
    throw new BackupError("integrity", `object ${id} has an unknown format`);
  }
  if (inner[0] === CODEC_STORED) return inner.slice(1);
  if (inner[0] === CODEC_DEFLATE) {
    try {
      return await pipe(inner.subarray(1), new DecompressionStream("deflate-raw"));
    } catch {
      throw new BackupError("integrity", `object ${id} does not decompress`);
    }
  }
  throw new BackupError("integrity", `object ${id} has an unknown codec`);
}

/** Key-encryption parameters stored in the repository config (no secret in them). */
export interface WrappedKey {
  kdf: "pbkdf2-sha256";
  iterations: number;
  salt: string;
  /** base64 of iv(12) ‖ AES-GCM(master key, 64 bytes). */
  wrapped: string;
}

async function kek(passphrase: string, salt: Uint8Array, iterations: number) {
  const base = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(passphrase),
    "PBKDF2",
    false,
    ["deriveKey"],
  );
  return await crypto.subtle.deriveKey(
    { name: "PBKDF2", hash: "SHA-256", salt: salt as Uint8Array<ArrayBuffer>, iterations },
    base,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

async function keysFromMaster(master: Uint8Array): Promise<RepoKeys> {
  const enc = await crypto.subtle.importKey(
    "raw",
    master.slice(0, 32),
    { name: "AES-GCM" },
    false,
    ["encrypt", "decrypt"],
  );
  const mac = await crypto.subtle.importKey(
    "raw",
    master.slice(32, 64),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const seed = new Uint8Array(
    await crypto.subtle.sign("HMAC", mac, new TextEncoder().encode("fleet-chunker-seed")),
  );
  return { enc, mac, chunkerSeed: seed };
}

/** A new random master key wrapped under a passphrase. */
export async function newWrappedKey(
  passphrase: string,
  iterations = 200_000,
): Promise<{ wrapped: WrappedKey; keys: RepoKeys }> {
  const master = crypto.getRandomValues(new Uint8Array(64));
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const ct = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv },
      await kek(passphrase, salt, iterations),
      master,
    ),
  );
  const blob = new Uint8Array(12 + ct.length);
  blob.set(iv);
  blob.set(ct, 12);
  return {
    wrapped: { kdf: "pbkdf2-sha256", iterations, salt: toBase64(salt), wrapped: toBase64(blob) },
    keys: await keysFromMaster(master),
  };
}

/** Opened keys by wrapped key and passphrase digest: PBKDF2 runs once per process, not per call. */
const opened = new Map<string, RepoKeys>();

/** The repository keys, or `wrong-key` when the passphrase does not open them. */
export async function unwrapKey(passphrase: string, w: WrappedKey): Promise<RepoKeys> {
  const memo = hexOf(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(`${w.wrapped}\0${w.salt}\0${w.iterations}\0${passphrase}`),
    ),
  );
  const known = opened.get(memo);
  if (known) return known;
  const keys = await unwrapSlow(passphrase, w);
  if (opened.size >= 16) opened.delete(opened.keys().next().value!);
  opened.set(memo, keys);
  return keys;
}

async function unwrapSlow(passphrase: string, w: WrappedKey): Promise<RepoKeys> {
  const blob = fromBase64(w.wrapped);
  let master: Uint8Array;
  try {
    master = new Uint8Array(
      await crypto.subtle.decrypt(
        { name: "AES-GCM", iv: blob.subarray(0, 12) },
        await kek(passphrase, fromBase64(w.salt), w.iterations),
        blob.subarray(12),
      ),
    );
  } catch {
    throw new BackupError(
      "wrong-key",
      "the encryption key does not open this repository (wrong key?)",
    );
  }
  if (master.length !== 64) throw new BackupError("integrity", "the repository key is malformed");
  return await keysFromMaster(master);
}
