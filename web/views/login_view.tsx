/**
 * The login form: an admin or viewer token becomes an HttpOnly session cookie.
 *
 * @module
 */
import { useSignal } from "@preact/signals";
import { login } from "../state/session.ts";
import { Icon } from "../ui/icon.tsx";

/** Shown when there is no session. */
export function LoginView() {
  const token = useSignal("");
  const error = useSignal<string | null>(null);
  const busy = useSignal(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    busy.value = true;
    error.value = null;
    try {
      await login(token.value);
      token.value = "";
    } catch (err) {
      error.value = (err as Error).message;
    } finally {
      busy.value = false;
    }
  };
  return (
    <div class="login">
      <form class="login-card" onSubmit={submit} data-testid="login-form">
        <div class="login-brand">
          <Icon name="logo" size={44} />
          <div>
            <h1>Fleet Commander</h1>
            <p>See, heal and command your GPU edge fleet.</p>
          </div>
        </div>
        <label>
          Access token
          <input
            type="password"
            name="token"
            autocomplete="off"
            placeholder="fca_… (admin) or fcv_… (viewer)"
            value={token.value}
            onInput={(e) => (token.value = (e.target as HTMLInputElement).value)}
            autofocus
          />
        </label>
        {error.value ? <p class="error" role="alert">{error.value}</p> : null}
        <button type="submit" class="primary" disabled={busy.value || !token.value.trim()}>
          {busy.value ? "Checking…" : "Log in"}
        </button>
        <p class="hint">
          The first admin token is in{" "}
          <code>&lt;data-dir&gt;/admin.token</code>; make a viewer token with{" "}
          <code>fleet-hub token create --kind viewer</code>.
        </p>
      </form>
    </div>
  );
}
