import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { matchRoute } from "./apm-state";
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

function App() {
  const { path, search } = useLocation();
  const route = matchRoute(path);
  if (path === "/" || path === "") navigate("/processes" + search, true);
  const page = (() => {
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
          </Link>
        </nav>
        <span class="spacer" />
      </div>
      <div class="page">{page}</div>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
