// The facet panel: for each tag key, its most frequent values among the matching processes,
// with counts. Clicking a value adds its filter to the query, or removes it when present.

import { useState } from "preact/hooks";
import type { Facet } from "../api";
import { facetLabel } from "../fields";
import { formatCount } from "../format";
import { hasTag } from "../query-edit";

export function FacetPanel(props: { facets: Facet[] | null; query: string; onToggle: (key: string, value: string) => void }) {
  const [collapsed, setCollapsed] = useState<Record<string, boolean>>({});
  if (!props.facets) {
    return (
      <aside class="facets">
        <div class="facet note">
          <span class="spinner" /> Loading facets…
        </div>
      </aside>
    );
  }
  return (
    <aside class="facets" aria-label="Facets">
      {props.facets.map((f) => (
        <div class="facet" key={f.key} data-facet={f.key}>
          <h4
            role="button"
            tabIndex={0}
            aria-expanded={!collapsed[f.key]}
            onClick={() => setCollapsed({ ...collapsed, [f.key]: !collapsed[f.key] })}
            onKeyDown={(e) => e.key === "Enter" && setCollapsed({ ...collapsed, [f.key]: !collapsed[f.key] })}
          >
            <span>{facetLabel(f.key)}</span>
            <span>{collapsed[f.key] ? "+" : "−"}</span>
          </h4>
          {!collapsed[f.key] && (
            <>
              {f.values.length === 0 && <div class="more">no values</div>}
              {f.values.map((v) => {
                const on = hasTag(props.query, f.key, v.value);
                return (
                  <label class="value" key={v.value} title={`${f.key}:${v.value}`}>
                    <input type="checkbox" checked={on} onChange={() => props.onToggle(f.key, v.value)} />
                    <span class="name">{v.value || '""'}</span>
                    <span class="count">{formatCount(v.count)}</span>
                  </label>
                );
              })}
              {f.other_values > 0 && <div class="more">+{formatCount(f.other_values)} more values</div>}
            </>
          )}
        </div>
      ))}
    </aside>
  );
}
