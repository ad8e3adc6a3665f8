// Who is signed in, and what the fetch wrapper (api.ts) needs of it: the session's CSRF token,
// sent back in `X-CSRF-Token` on every call that is not a GET, and what to do when the server
// says the browser is not signed in (docs/api.md, access control). Pure logic, no DOM: the
// app registers the sign-in navigation with `onSignInNeeded`.

/** A role of Datadog's managed ones, as `/api/ui/me` names it. */
export type Role = "admin" | "standard" | "read_only";

export interface SessionUser {
  id: string;
  name: string;
  role: Role;
  /** Datadog's name of the role ("Datadog Admin Role"). */
  role_name: string;
}

/** `GET /api/ui/me`. */
export interface Me {
  user: SessionUser;
  /** null when the request was authenticated by keys rather than a session. */
  csrf_token: string | null;
  /** false for a user signed in through the one-time link, who has no password yet. */
  has_password: boolean;
}

/** The header the server checks a session's state-changing calls for. */
export const CSRF_HEADER = "X-CSRF-Token";

/** The page where a user signs in. */
export const LOGIN_PATH = "/login";

/** Where signing in goes when the link names nowhere (or somewhere not ours). */
export const DEFAULT_NEXT = "/processes";

let csrfToken: string | null = null;

/** Keeps the session's CSRF token in memory (null when signed out). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function getCsrfToken(): string | null {
  return csrfToken;
}

/** Whether a request with `method` changes state, so must carry the CSRF token. */
export function needsCsrf(method: string): boolean {
  const m = method.toUpperCase();
  return m !== "GET" && m !== "HEAD" && m !== "OPTIONS";
}

/** The headers of a request: `base` plus `X-CSRF-Token` on a state-changing one, when known. */
export function requestHeaders(method: string, base: Record<string, string> = {}, token: string | null = csrfToken): Record<string, string> {
  const headers = { ...base };
  if (needsCsrf(method) && token) headers[CSRF_HEADER] = token;
  return headers;
}

/** Whether an answer means "sign in": 401 (no credentials), or the 403 of a session that has
 * ended (signed out elsewhere, idle too long, or the server restarted). Any other 403 is a
 * refusal to show where it happened (a role too low, a wrong CSRF token). */
export function isSignInNeeded(status: number, message: string): boolean {
  if (status === 401) return true;
  return status === 403 && /session has ended/i.test(message);
}

/** What the sign-in page says when signing in failed: the server's first error, else a
 * message for the status (0: the server did not answer). */
export function signInErrorText(status: number, errors: string[]): string {
  if (errors.length > 0 && errors[0]) return errors[0];
  if (status === 429) return "Too many failed sign-in attempts; wait a minute and try again.";
  if (status === 401) return "Invalid username or password";
  if (status === 0) return "Cannot reach the dogwatch server; is it running?";
  return `Signing in failed (HTTP ${status}).`;
}

/** Whether `path` is the sign-in page. */
export function isLoginPath(path: string): boolean {
  return path === LOGIN_PATH || path === LOGIN_PATH + "/";
}

/** The sign-in page's URL that comes back to `path` + `search` afterwards. */
export function loginUrl(path: string, search = ""): string {
  if (isLoginPath(path)) return LOGIN_PATH + search;
  const here = path + search;
  if (!safeNext(here)) return LOGIN_PATH;
  return `${LOGIN_PATH}?next=${encodeURIComponent(here)}`;
}

/** `next` if it is a path of this UI (so a link cannot send a signed-in user to another site,
 * or back to the sign-in page), else null. */
export function safeNext(next: string | null | undefined): string | null {
  if (!next || !next.startsWith("/")) return null;
  // "//host" and "/\host" are other sites to a browser.
  if (next.startsWith("//") || next.startsWith("/\\")) return null;
  if (/[\u0000-\u001f]/.test(next)) return null;
  const path = next.split(/[?#]/)[0];
  if (isLoginPath(path) || path.startsWith(LOGIN_PATH + "/")) return null;
  return next;
}

/** Where to go after signing in, from the sign-in page's search string. */
export function nextFromSearch(search: string): string {
  return safeNext(new URLSearchParams(search).get("next")) ?? DEFAULT_NEXT;
}

/** Whether `role` may save, rename and delete saved views (the server needs Standard or Admin). */
export function canEditViews(role: Role | undefined): boolean {
  return role === "admin" || role === "standard";
}

/** A role's short name for the top bar. */
export function roleLabel(role: Role | string): string {
  switch (role) {
    case "admin":
      return "Admin";
    case "standard":
      return "Standard";
    case "read_only":
      return "Read Only";
    default:
      return String(role);
  }
}

/** Why a new password cannot be set, or null when it can. */
export function passwordProblem(password: string, confirm: string, minChars = 8): string | null {
  if ([...password].length < minChars) return `The password must have at least ${minChars} characters.`;
  if (password !== confirm) return "The two passwords differ.";
  return null;
}

/** The search string without `set-password` (the one-time link's hint, shown as a banner). */
export function withoutSetPasswordHint(search: string): string {
  const p = new URLSearchParams(search);
  if (!p.has("set-password")) return search;
  p.delete("set-password");
  const s = p.toString();
  return s ? `?${s}` : "";
}

type Listener = () => void;
let signInNeeded: Listener = () => undefined;

/** What to do when a request finds the browser signed out (the app goes to the sign-in page). */
export function onSignInNeeded(fn: Listener): void {
  signInNeeded = fn;
}

/** Called by the fetch wrapper on an answer that means "sign in". */
export function signInNeededNow(): void {
  csrfToken = null;
  signInNeeded();
}
