/**
 * The page's CSP nonce for styles. The hub's Content-Security-Policy allows `<style>` elements
 * only with the nonce of the page response (no 'unsafe-inline'); libraries that write their own
 * `<style>` elements (xterm.js) get it through {@link allowLibraryStyles}.
 *
 * @module
 */

/** The nonce the hub put on the page's style sheet link ("" when there is none). */
export function styleNonce(): string {
  return document.querySelector<HTMLLinkElement>("link[rel=stylesheet][nonce]")?.nonce ?? "";
}

let patched = false;

/**
 * From now on, every `<style>` element the page creates carries the nonce, so a library's
 * generated styles pass the CSP. Call before creating such a library's widgets.
 *
 * @example
 * ```ts
 * allowLibraryStyles();
 * const term = new Terminal();
 * ```
 */
export function allowLibraryStyles(): void {
  if (patched) return;
  patched = true;
  const nonce = styleNonce();
  const create = document.createElement.bind(document);
  document.createElement = ((tag: string, options?: ElementCreationOptions) => {
    const el = create(tag, options);
    if (nonce && tag.toLowerCase() === "style") (el as HTMLStyleElement).nonce = nonce;
    return el;
  }) as typeof document.createElement;
}
