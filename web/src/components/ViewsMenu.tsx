// The Live Processes page's "Views" menu: one preset per integration the server detects (NGINX,
// Redis, PostgreSQL, Kafka, …) that scopes the page's query to that software; the ones running
// on some host first, with their process counts. The preset is the query itself, so the URL
// (`q`) carries it as any query.

import { useEffect, useState } from "preact/hooks";
import { integrationsApi } from "../integrations-api";
import { activePreset, viewPresets, type CatalogEntry, type IntegrationsAnswer } from "../integrations-state";
import { formatCount } from "../format";
import { Menu } from "./Menu";

export function ViewsMenu(props: { query: string; onQuery: (query: string) => void }) {
  const [answer, setAnswer] = useState<IntegrationsAnswer | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => {
    integrationsApi
      .list(null)
      .then((a) => {
        setAnswer(a);
        setError(null);
      })
      .catch((e) => setError((e as Error).message));
  };
  // Loaded at once too, so the button names the preset a link or a reload brought.
  useEffect(load, []);
  const catalog: CatalogEntry[] = answer?.catalog ?? [];
  const active = activePreset(props.query, catalog);
  return (
    <Menu label={active ? `Views: ${active.name}` : "Views"} class={`views${active ? " active-view" : ""}`} title="Integration views: scope the page to one software" onOpen={load}>
      {(close) => (
        <div class="views-menu-list" data-views-menu>
          {error && <div class="error-text">Cannot load the integrations: {error}</div>}
          {!answer && !error && (
            <div class="muted">
              <span class="spinner" /> Loading…
            </div>
          )}
          {answer && (
            <>
              {active && (
                <button
                  data-view="none"
                  onClick={() => {
                    props.onQuery("");
                    close();
                  }}
                >
                  <span>All processes</span>
                </button>
              )}
              {viewPresets(catalog, answer.integrations).map((p) => (
                <button
                  key={p.id}
                  data-view={p.id}
                  class={active?.id === p.id ? "active" : ""}
                  title={p.query}
                  onClick={() => {
                    props.onQuery(p.query);
                    close();
                  }}
                >
                  <span>{p.name}</span>
                  <span class="muted">{p.processes > 0 ? `${formatCount(p.processes)} running` : ""}</span>
                </button>
              ))}
            </>
          )}
        </div>
      )}
    </Menu>
  );
}
