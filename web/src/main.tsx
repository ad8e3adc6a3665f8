import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { api, ApiError } from "./api";
import { matchRoute } from "./apm-state";
import { isLoginPath, isSignInNeeded, LOGIN_PATH, loginUrl, type Me, nextFromSearch, onSignInNeeded, setCsrfToken, withoutSetPasswordHint } from "./auth";
import { AccountBar, SetPasswordBanner } from "./components/Account";
import { SessionContext } from "./session-context";
import { navigate, useLocation } from "./router";
import { ProcessesPage } from "./pages/Processes";
import { HostsPage } from "./pages/Hosts";
import { HostPage } from "./pages/Host";
import { ApmServicesPage } from "./pages/ApmServices";
import { ApmServicePage } from "./pages/ApmService";
import { ApmTracesPage } from "./pages/ApmTraces";
import { ApmTracePage } from "./pages/ApmTrace";
import { MetricsPage } from "./pages/Metrics";
import { EventsPage } from "./pages/Events";
import { ChecksPage } from "./pages/Checks";
import { IntegrationPage, IntegrationsPage } from "./pages/Integrations";
import { LoginPage } from "./pages/Login";

function Link(props: { href: string; current: boolean; children: string }) {
  return (
    <a
      href={props.href}
      class={props.current ? "current" : ""}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** Who is signed in: asked of GET /api/ui/me at start (a 401 goes to the sign-in page), set by
 * signing in, cleared by signing out or by any answer that says the session is gone. */
function useSession(onLogin: boolean) {
  const [me, setMeState] = useState<Me | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const setMe = (m: Me | null) => {
    setCsrfToken(m?.csrf_token ?? null);
    setMeState(m);
  };
  useEffect(() => {
    onSignInNeeded(() => {
      setMeState(null);
      if (!isLoginPath(location.pathname)) navigate(loginUrl(location.pathname, location.search), true);
    });
  }, []);
  const missing = me == null;
  useEffect(() => {
    if (onLogin || !missing) return;
    let live = true;
    setError(null);
    api
      .me()
      .then((m) => live && setMe(m))
      .catch((e) => {
        // A 401 has already gone to the sign-in page.
        if (live && !(e instanceof ApiError && isSignInNeeded(e.status, e.message))) setError((e as Error).message);
      });
    return () => {
      live = false;
    };
  }, [onLogin, missing, attempt]);
  return { me, setMe, error, retry: () => setAttempt((a) => a + 1) };
}

function App() {
  const { path, search } = useLocation();
  const route = matchRoute(path);
  const onLogin = isLoginPath(path);
  const { me, setMe, error, retry } = useSession(onLogin);
  const [passwordSet, setPasswordSet] = useState(false);
  // The one-time link lands on /?set-password=1: the banner comes from /api/ui/me's has_password.
  if (path === "/" || path === "") navigate("/processes" + withoutSetPasswordHint(search), true);
  if (onLogin) {
    return (
      <div class="app">
        <LoginPage
          onSignedIn={(m) => {
            setMe(m);
            navigate(nextFromSearch(search), true);
          }}
        />
      </div>
    );
  }
  const signOut = () => {
    api
      .logout()
      .catch(() => undefined)
      .finally(() => {
        setMe(null);
        navigate(LOGIN_PATH);
      });
  };
  const page = !me ? (
    <div class="empty" data-session={error ? "error" : "loading"}>
      {error ? (
        <>
          <strong>{error}</strong>
          <button onClick={retry}>Retry</button>
        </>
      ) : (
        <>
          <span class="spinner" /> Loading…
        </>
      )}
    </div>
  ) : (() => {
    switch (route.page) {
      case "hosts":
        return <HostsPage />;
      case "host":
        // Another host is a fresh page: nothing of the last one carries over.
        return <HostPage key={route.hostname} hostname={route.hostname} search={search} />;
      case "apm-services":
        return <ApmServicesPage search={search} />;
      case "apm-service":
        return <ApmServicePage service={route.service} search={search} />;
      case "apm-traces":
        return <ApmTracesPage search={search} />;
      case "metrics":
        return <MetricsPage search={search} />;
      case "events":
        return <EventsPage search={search} />;
      case "checks":
        return <ChecksPage search={search} />;
      case "integrations":
        return <IntegrationsPage search={search} />;
      case "integration":
        return <IntegrationPage key={route.id} id={route.id} search={search} />;
      case "apm-trace":
        // Another trace is a fresh page: nothing of the last one carries over.
        return <ApmTracePage key={route.traceId} traceId={route.traceId} search={search} />;
      default:
        return <ProcessesPage search={search} />;
    }
  })();
  return (
    <div class="app">
      <div class="topbar">
        <a class="brand" href="/processes">
          dogwatch
        </a>
        <nav>
          <Link href="/processes" current={route.page === "processes"}>
            Live Processes
          </Link>{" "}
          <Link href="/hosts" current={route.page === "hosts" || route.page === "host"}>
            Hosts
          </Link>{" "}
          <Link href="/apm/services" current={route.page === "apm-services" || route.page === "apm-service"}>
            APM Services
          </Link>{" "}
          <Link href="/apm/traces" current={route.page === "apm-traces" || route.page === "apm-trace"}>
            Traces
          </Link>{" "}
          <Link href="/metrics" current={route.page === "metrics"}>
            Metrics
          </Link>{" "}
          <Link href="/events" current={route.page === "events"}>
            Events
          </Link>{" "}
          <Link href="/checks" current={route.page === "checks"}>
            Service Checks
          </Link>{" "}
          <Link href="/integrations" current={route.page === "integrations" || route.page === "integration"}>
            Integrations
          </Link>
        </nav>
        <span class="spacer" />
        {me && <AccountBar me={me} onSignOut={signOut} />}
      </div>
      {me && !me.has_password && (
        <SetPasswordBanner
          me={me}
          onDone={() => {
            setMe({ ...me, has_password: true });
            setPasswordSet(true);
          }}
        />
      )}
      {me && passwordSet && (
        <div class="banner note" data-password-set role="status">
          Password set: sign in as <strong>{me.user.name}</strong> with it from now on.{" "}
          <button class="link" onClick={() => setPasswordSet(false)} aria-label="Dismiss">
            ✕
          </button>
        </div>
      )}
      <SessionContext.Provider value={me}>
        <div class="page">{page}</div>
      </SessionContext.Provider>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
