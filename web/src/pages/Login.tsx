// The sign-in page (/login): a user name and password, sent to POST /api/ui/login. A wrong
// name or password shows the server's message; so does the limit on failed attempts (429).
// Signing in goes to `next` (the page that asked), else to Live Processes.

import { useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { type Me, signInErrorText } from "../auth";

export function LoginPage(props: { onSignedIn: (me: Me) => void }) {
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<{ text: string; status: number } | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api.login(username.trim(), password);
      props.onSignedIn({ user: answer.user, csrf_token: answer.csrf_token, has_password: true });
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError({ text: signInErrorText(status, err instanceof ApiError ? err.errors : []), status });
      setPassword("");
      setBusy(false);
    }
  };

  return (
    <div class="login-page">
      <form class="login-card" onSubmit={submit} aria-label="Sign in">
        <h1>
          <span class="brand">dogwatch</span> Sign in
        </h1>
        <label>
          Username
          <input type="text" name="username" autoComplete="username" autoFocus value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} required />
        </label>
        <label>
          Password
          <input type="password" name="password" autoComplete="current-password" value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} required />
        </label>
        {error && (
          <div class="error" role="alert" data-status={error.status}>
            {error.text}
          </div>
        )}
        <button type="submit" class="primary" disabled={busy || username.trim() === "" || password === ""}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
        <p class="note">
          No account yet? The server's first start prints a one-time sign-in link for <code>admin</code>; an admin adds users with{" "}
          <code>dogwatch user add NAME --role standard</code>.
        </p>
      </form>
    </div>
  );
}
