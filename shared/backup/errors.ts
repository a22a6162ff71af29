/**
 * {@link BackupError} and the mapping of S3 failures onto it.
 *
 * @module
 */
import { S3Failure } from "../s3.ts";
import type { BackupErrorCode } from "./types.ts";

/** An engine failure; `code` is stable, `message` is for people and never holds a secret. */
export class BackupError extends Error {
  constructor(readonly code: BackupErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "BackupError";
  }
}

/** Any error as a {@link BackupError} (S3 failures keep their cause's words). */
export function toBackupError(e: unknown): BackupError {
  if (e instanceof BackupError) return e;
  if (e instanceof S3Failure) {
    const code: BackupErrorCode = e.kind === "credentials"
      ? "s3-credentials"
      : e.kind === "unreachable"
      ? "s3-unreachable"
      : e.kind === "no-bucket"
      ? "s3-no-bucket"
      : e.kind === "aborted"
      ? "aborted"
      : e.kind === "not-found"
      ? "not-found"
      : "s3-error";
    return new BackupError(code, e.message, { cause: e });
  }
  if (
    e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound ||
    e instanceof Deno.errors.AlreadyExists || e instanceof Deno.errors.NotADirectory ||
    e instanceof Deno.errors.IsADirectory ||
    (e instanceof Error && /No space left|ENOSPC|EROFS|EACCES|EPERM/.test(e.message))
  ) {
    return new BackupError("io", `local file system: ${(e as Error).message}`, { cause: e });
  }
  if (e instanceof DOMException && e.name === "AbortError") {
    return new BackupError("aborted", "aborted", { cause: e });
  }
  return new BackupError("s3-error", e instanceof Error ? e.message : String(e), { cause: e });
}
