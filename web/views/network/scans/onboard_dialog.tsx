/**
 * Onboarding a host a LAN scan found outside the fleet: a fresh one-time enrollment token is
 * created through the token API (audited as `token.create`), and the install line that uses it
 * is shown once, ready to paste on that host.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { useEffect } from "preact/hooks";
import type { LanHost } from "../../../../shared/protocol/mod.ts";
import { api } from "../../../state/api.ts";
import { FormError, Modal } from "../../../ui/modal.tsx";

/** Props of {@link OnboardDialog}. */
export interface OnboardDialogProps {
  host: LanHost;
  onClose: () => void;
}

/** The dialog. */
export function OnboardDialog({ host, onClose }: OnboardDialogProps) {
  const line = useSignal<string | null>(null);
  const expires = useSignal<number | null>(null);
  const error = useSignal<string | null>(null);
  useEffect(() => {
    const name = `onboard ${host.name ?? host.ip}`.slice(0, 128);
    api.createToken({ kind: "enrollment", name }).then((t) => {
      line.value = `curl -fsSL ${location.origin}/install.sh | sudo sh -s -- --token ${t.token}`;
      expires.value = t.expires_at;
    }).catch((err) => (error.value = (err as Error).message));
  }, [host.ip]);
  return (
    <Modal
      title={`Onboard ${host.name ?? host.ip}`}
      subtitle={`${host.ip}${host.mac ? ` · ${host.mac}` : ""}${
        host.vendor ? ` · ${host.vendor}` : ""
      }`}
      onClose={onClose}
      testid="onboard-dialog"
      wide
      footer={
        <>
          {line.value
            ? (
              <button
                type="button"
                onClick={() => void navigator.clipboard?.writeText(line.value!)}
              >
                Copy
              </button>
            )
            : null}
          <button type="button" class="primary" onClick={onClose}>Done</button>
        </>
      }
    >
      <p class="modal-text">
        Run this on the host as root. It installs the agent, which enrolls with this one-time token
        and appears on the canvas.
      </p>
      {line.value
        ? <pre class="snippet netscan-install" data-testid="onboard-line">{line.value}</pre>
        : error.value
        ? null
        : (
          <p class="modal-text">
            <span class="spinner small" /> creating an enrollment token…
          </p>
        )}
      {expires.value
        ? (
          <p class="modal-text muted">
            The token works once and expires{" "}
            {new Date(expires.value).toLocaleString()}. It is not shown again.
          </p>
        )
        : null}
      <FormError message={error.value} />
    </Modal>
  );
}
