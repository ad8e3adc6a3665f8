// Tags as small chips: a row of a record's tags, each clickable to filter on it, and the
// filter's own tags, each removable.

export function TagList(props: { tags: readonly string[]; onPick?: (tag: string) => void; title?: string }) {
  if (props.tags.length === 0) return <span class="muted">—</span>;
  return (
    <span class="tags">
      {props.tags.map((t) =>
        props.onPick ? (
          <button key={t} type="button" class="tag" data-tag={t} title={props.title ?? `Filter on ${t}`} onClick={() => props.onPick!(t)}>
            {t}
          </button>
        ) : (
          <span key={t} class="tag" data-tag={t}>
            {t}
          </span>
        ),
      )}
    </span>
  );
}

export function FilterChips(props: { tags: readonly string[]; onRemove: (tag: string) => void }) {
  return (
    <>
      {props.tags.map((t) => (
        <span key={t} class="chip" data-filter-tag={t}>
          {t}
          <button class="link" title={`Remove ${t}`} aria-label={`Remove ${t}`} onClick={() => props.onRemove(t)}>
            ✕
          </button>
        </span>
      ))}
    </>
  );
}
