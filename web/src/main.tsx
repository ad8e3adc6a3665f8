import { render } from "preact";
import "uplot/dist/uPlot.min.css";
import "./styles.css";
import { navigate, useLocation } from "./router";
import { ProcessesPage } from "./pages/Processes";
import { HostsPage } from "./pages/Hosts";

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
  const page = path.startsWith("/hosts") ? "hosts" : "processes";
  if (path === "/" || path === "") navigate("/processes" + search, true);
  return (
    <div class="app">
      <div class="topbar">
        <a class="brand" href="/processes">
          dogwatch
        </a>
        <nav>
          <Link href="/processes" current={page === "processes"}>
            Live Processes
          </Link>{" "}
          <Link href="/hosts" current={page === "hosts"}>
            Hosts
          </Link>
        </nav>
        <span class="spacer" />
      </div>
      <div class="page">{page === "hosts" ? <HostsPage /> : <ProcessesPage search={search} />}</div>
    </div>
  );
}

render(<App />, document.getElementById("app")!);
