/**
 * The canvas card's backup mark: the age of the node's last good backup, amber when it is older
 * than the node's schedule allows (or missing while a schedule covers the node), pulsing while
 * the node uploads one. Nothing when the node has never been backed up and no schedule asks.
 *
 * @module
 */
import { now } from "../../state/clock.ts";
import { ageText, lastGoodBackup, uploadingNodes } from "../../state/backups.ts";

/** The mark of node `id`. */
export function BackupAge({ id }: { id: string }) {
  const uploading = uploadingNodes.value.has(id);
  const last = lastGoodBackup.value[id];
  if (!uploading && (!last || (last.at === null && !last.stale))) return null;
  const text = uploading
    ? "backing up"
    : last!.at === null
    ? "never"
    : ageText(now.value - last!.at);
  const title = uploading
    ? "a backup of this node is uploading"
    : last!.at === null
    ? "no good backup yet, and a schedule covers this node"
    : `last good backup ${text} ago${last!.stale ? ": older than its schedule allows" : ""}`;
  return (
    <span
      class={`nc-backup${last?.stale && !uploading ? " stale" : ""}${
        uploading ? " uploading" : ""
      }`}
      title={title}
      data-testid="backup-age"
      data-stale={last?.stale ? "true" : "false"}
    >
      ⤒ {text}
    </span>
  );
}
