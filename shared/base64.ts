/**
 * Standard base64 of bytes and back (config files through the hub, backup key wrapping, the
 * embedded UI assets). In chunks, so a large buffer does not overflow the call's argument list.
 *
 * @module
 */

/** `bytes` as base64. */
export function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

/** The bytes of base64 `text`; throws on text that is not base64. */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
