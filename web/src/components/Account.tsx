// The signed-in user in the top bar (name, role, Sign out), and the banner that asks a user
// signed in through the one-time link to set a password (PUT /api/ui/me/password).

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { type Me, passwordProblem, roleLabel } from "../auth";

export function AccountBar(props: { me: Me; onSignOut: () => void }) {
  const { user } = props.me;
  const [busy, setBusy] = useState(false);
  return (
    <span class="account" data-user={user.name} data-role={user.role}>
      <span class="user-name" title={`Signed in as ${user.name}`}>
        {user.name}
      </span>
      <span class="role" title={user.role_name}>
        {roleLabel(user.role)}
      </span>
      <button
        class="sign-out"
        disabled={busy}
        onClick={() => {
          setBusy(true);
          props.onSignOut();
        }}
      >
        Sign out
      </button>
    </span>
  );
}

/** Shown while the user has no password: the one-time link signed them in, and without a
 * password they cannot sign in again. */
export function SetPasswordBanner(props: { me: Me; onDone: () => void }) {
  const [password, setPassword] = useState("");
  const [confirm, setConfirm] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    const problem = passwordProblem(password, confirm);
    if (problem) {
      setError(problem);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await api.setPassword(password);
      props.onDone();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : (err as Error).message);
      setBusy(false);
    }
  };

  return (
    <div class="banner warn set-password" data-set-password role="region" aria-label="Set a password">
      <form onSubmit={submit}>
        <span>
          <strong>{props.me.user.name}</strong> has no password yet: the sign-in link works once, so set one now to sign in again later.
        </span>
        <input type="password" aria-label="New password" placeholder="New password, 8+ characters" autoComplete="new-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        <input type="password" aria-label="Repeat the new password" placeholder="Repeat it" autoComplete="new-password" value={confirm} onInput={(e) => setConfirm((e.target as HTMLInputElement).value)} />
        <button type="submit" class="primary" disabled={busy || password === ""}>
          Set password
        </button>
        {error && (
          <span class="error-text" role="alert">
            {error}
          </span>
        )}
      </form>
    </div>
  );
}
