import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, request } from "../src/api";
import {
  canEditViews,
  CSRF_HEADER,
  DEFAULT_NEXT,
  getCsrfToken,
  isSignInNeeded,
  loginUrl,
  needsCsrf,
  nextFromSearch,
  onSignInNeeded,
  passwordProblem,
  requestHeaders,
  roleLabel,
  safeNext,
  setCsrfToken,
  signInErrorText,
  withoutSetPasswordHint,
} from "../src/auth";

describe("the sign-in page's next= URL", () => {
  it("comes back to the page and its search string", () => {
    expect(loginUrl("/processes", "?q=java%20-kafka&by=host")).toBe("/login?next=%2Fprocesses%3Fq%3Djava%2520-kafka%26by%3Dhost");
    expect(nextFromSearch("?next=%2Fprocesses%3Fq%3Djava%2520-kafka%26by%3Dhost")).toBe("/processes?q=java%20-kafka&by=host");
    expect(loginUrl("/hosts/web-1", "")).toBe("/login?next=%2Fhosts%2Fweb-1");
    expect(nextFromSearch(new URL("http://x" + loginUrl("/apm/trace/123", "?span=7&tab=flame")).search)).toBe("/apm/trace/123?span=7&tab=flame");
  });

  it("does not nest the sign-in page in itself", () => {
    expect(loginUrl("/login", "?next=%2Fhosts")).toBe("/login?next=%2Fhosts");
    expect(loginUrl("/login", "")).toBe("/login");
    expect(nextFromSearch("?next=%2Flogin%3Fnext%3D%252Fhosts")).toBe(DEFAULT_NEXT);
    expect(nextFromSearch("?next=%2Flogin%2Fabc")).toBe(DEFAULT_NEXT);
  });

  it("goes only to this UI's paths after signing in", () => {
    expect(nextFromSearch("")).toBe(DEFAULT_NEXT);
    expect(nextFromSearch("?next=")).toBe(DEFAULT_NEXT);
    for (const bad of ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "processes", "/proc\nesses"]) {
      expect(safeNext(bad), bad).toBeNull();
      expect(nextFromSearch("?next=" + encodeURIComponent(bad))).toBe(DEFAULT_NEXT);
    }
    expect(safeNext("/metrics?metric=a.b#x")).toBe("/metrics?metric=a.b#x");
    expect(safeNext("/")).toBe("/");
  });

  it("drops the one-time link's set-password hint and keeps the rest", () => {
    expect(withoutSetPasswordHint("?set-password=1")).toBe("");
    expect(withoutSetPasswordHint("?q=a&set-password=1")).toBe("?q=a");
    expect(withoutSetPasswordHint("?q=a")).toBe("?q=a");
    expect(withoutSetPasswordHint("")).toBe("");
  });
});

describe("what the fetch wrapper needs", () => {
  it("sends the CSRF token on every method but GET, HEAD and OPTIONS", () => {
    expect(["POST", "PUT", "DELETE", "PATCH", "post"].every(needsCsrf)).toBe(true);
    expect(["GET", "HEAD", "OPTIONS", "get"].some(needsCsrf)).toBe(false);
    expect(requestHeaders("POST", { "content-type": "application/json" }, "t0k")).toEqual({ "content-type": "application/json", [CSRF_HEADER]: "t0k" });
    expect(requestHeaders("GET", {}, "t0k")).toEqual({});
    expect(requestHeaders("DELETE", {}, null)).toEqual({});
  });

  it("treats 401 and an ended session as 'sign in', and other refusals as errors", () => {
    expect(isSignInNeeded(401, "Unauthorized: sign in, or send an API key")).toBe(true);
    expect(isSignInNeeded(403, "Forbidden: the session has ended; sign in again")).toBe(true);
    expect(isSignInNeeded(403, "Forbidden: this needs the Datadog Standard Role or above; bob has the Datadog Read Only Role")).toBe(false);
    expect(isSignInNeeded(403, "Forbidden: missing or wrong CSRF token (X-CSRF-Token)")).toBe(false);
    expect(isSignInNeeded(400, "bad query")).toBe(false);
    expect(isSignInNeeded(0, "cannot reach")).toBe(false);
  });
});

describe("roles and passwords", () => {
  it("lets Standard and Admin change saved views, not Read Only", () => {
    expect(canEditViews("admin")).toBe(true);
    expect(canEditViews("standard")).toBe(true);
    expect(canEditViews("read_only")).toBe(false);
    expect(canEditViews(undefined)).toBe(false);
    expect(roleLabel("read_only")).toBe("Read Only");
    expect(roleLabel("admin")).toBe("Admin");
  });

  it("asks for 8 characters and the same password twice", () => {
    expect(passwordProblem("short", "short")).toMatch(/at least 8/);
    expect(passwordProblem("long enough", "long enougH")).toMatch(/differ/);
    expect(passwordProblem("long enough", "long enough")).toBeNull();
    // Characters, not UTF-16 units, as the server counts them.
    expect(passwordProblem("🔑🔑🔑🔑🔑🔑🔑", "🔑🔑🔑🔑🔑🔑🔑")).toMatch(/at least 8/);
  });

  it("says why signing in failed: the server's words, else the status's", () => {
    expect(signInErrorText(401, ["Invalid username or password"])).toBe("Invalid username or password");
    expect(signInErrorText(429, ["Too many failed sign-in attempts; try again in a minute"])).toMatch(/Too many/);
    expect(signInErrorText(429, [])).toMatch(/Too many failed sign-in attempts/);
    expect(signInErrorText(401, [])).toBe("Invalid username or password");
    expect(signInErrorText(0, [])).toMatch(/Cannot reach/);
    expect(signInErrorText(500, [])).toMatch(/HTTP 500/);
  });
});

/** A fetch that records its calls and answers `status` with `body`. */
function fakeFetch(status: number, body: unknown) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = vi.fn(async (url: string, init: RequestInit) => {
    calls.push({ url, init });
    const text = body === undefined ? "" : JSON.stringify(body);
    return new Response(status === 204 ? null : text, { status, headers: { "content-type": "application/json" } });
  });
  vi.stubGlobal("fetch", fn);
  return calls;
}

const header = (init: RequestInit, name: string) => new Headers(init.headers).get(name);

describe("the fetch wrapper", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    setCsrfToken(null);
    onSignInNeeded(() => undefined);
  });

  it("adds X-CSRF-Token to writes, not to reads", async () => {
    setCsrfToken("csrf-123");
    const calls = fakeFetch(200, { id: 1, name: "v" });
    await api.createView("processes", "v", { q: "java" });
    await api.views("processes");
    await api.deleteView(1);
    expect(calls.map((c) => c.init.method)).toEqual(["POST", "GET", "DELETE"]);
    expect(header(calls[0].init, CSRF_HEADER)).toBe("csrf-123");
    expect(header(calls[0].init, "content-type")).toBe("application/json");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ page: "processes", name: "v", state: { q: "java" } });
    expect(header(calls[1].init, CSRF_HEADER)).toBeNull();
    expect(calls[1].url).toBe("/api/ui/views?page=processes");
    expect(header(calls[2].init, CSRF_HEADER)).toBe("csrf-123");
    expect(calls.every((c) => c.init.credentials === "same-origin")).toBe(true);
  });

  it("maps a 401 to the sign-in page, forgets the token, and still rejects", async () => {
    setCsrfToken("csrf-123");
    const signIn = vi.fn();
    onSignInNeeded(signIn);
    fakeFetch(401, { errors: ["Unauthorized: sign in, or send an API key (DD-API-KEY) with an application key (DD-APPLICATION-KEY)"] });
    const e = await api.hosts().catch((x) => x);
    expect(e).toBeInstanceOf(ApiError);
    expect(e.status).toBe(401);
    expect(e.errors[0]).toMatch(/^Unauthorized/);
    expect(signIn).toHaveBeenCalledTimes(1);
    expect(getCsrfToken()).toBeNull();
  });

  it("maps an ended session's 403 to the sign-in page, but not a role's 403", async () => {
    const signIn = vi.fn();
    onSignInNeeded(signIn);
    fakeFetch(403, { errors: ["Forbidden: the session has ended; sign in again"] });
    await expect(request("GET", "/api/v1/query", { params: { query: "avg:a{*}" } })).rejects.toMatchObject({ status: 403 });
    expect(signIn).toHaveBeenCalledTimes(1);
    fakeFetch(403, { errors: ["Forbidden: this needs the Datadog Standard Role or above; viewer has the Datadog Read Only Role"] });
    await expect(api.createView("processes", "x", {})).rejects.toMatchObject({ status: 403, message: /Standard Role/ });
    expect(signIn).toHaveBeenCalledTimes(1);
  });

  it("does not leave the sign-in page on a wrong password", async () => {
    const signIn = vi.fn();
    onSignInNeeded(signIn);
    const calls = fakeFetch(401, { errors: ["Invalid username or password"] });
    const e = await api.login("admin", "nope").catch((x) => x);
    expect(e).toMatchObject({ status: 401, errors: ["Invalid username or password"] });
    expect(signIn).not.toHaveBeenCalled();
    expect(calls[0].url).toBe("/api/ui/login");
    expect(JSON.parse(calls[0].init.body as string)).toEqual({ username: "admin", password: "nope" });
  });

  it("sets a password without the current one while the user has none", async () => {
    setCsrfToken("c");
    const calls = fakeFetch(204, undefined);
    await api.setPassword("new secret");
    await api.setPassword("newer secret", "new secret");
    expect(calls.map((c) => [c.init.method, c.url, JSON.parse(c.init.body as string), header(c.init, CSRF_HEADER)])).toEqual([
      ["PUT", "/api/ui/me/password", { new_password: "new secret" }, "c"],
      ["PUT", "/api/ui/me/password", { current_password: "new secret", new_password: "newer secret" }, "c"],
    ]);
  });
});
