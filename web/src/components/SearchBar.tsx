// The search bar: what the user types is applied after a short pause (or at once on Enter),
// and a query the server rejects is underlined where the error is, with the message below.
// Typing only touches this component's state, so a live refresh never gets in its way.

import { useEffect, useRef, useState } from "preact/hooks";
import type { QueryError } from "../api";

/** How long typing must pause before the query is applied. */
export const APPLY_AFTER_MS = 300;

export function SearchBar(props: {
  query: string;
  error: QueryError | null;
  /** The query the error is about. */
  errorQuery: string | null;
  onApply: (query: string) => void;
  /** The input's accessible name and placeholder (the Live Processes page's by default). */
  label?: string;
  placeholder?: string;
  /** Apply what is typed after a pause (the default), or only on Enter (a query that is
   * costly or noisy to run half-typed). */
  applyOnPause?: boolean;
  /** Whether `/` focuses this bar (the default; off for a page's second bar). */
  shortcut?: boolean;
  /** The input's name. */
  name?: string;
}) {
  const [text, setText] = useState(props.query);
  const input = useRef<HTMLInputElement>(null);
  const mirror = useRef<HTMLDivElement>(null);
  const timer = useRef<number | null>(null);

  // A query set from outside (facet click, saved view, back button) replaces what is typed.
  useEffect(() => {
    if (timer.current != null) window.clearTimeout(timer.current);
    timer.current = null;
    if (props.query !== text) setText(props.query);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.query]);

  // `/` focuses the search bar from anywhere but another text field.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (props.shortcut === false) return;
      const t = e.target as HTMLElement;
      if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey) return;
      if (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable) return;
      e.preventDefault();
      input.current?.focus();
      input.current?.select();
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      if (timer.current != null) window.clearTimeout(timer.current);
    };
  }, []);

  const apply = (q: string) => {
    if (timer.current != null) window.clearTimeout(timer.current);
    timer.current = null;
    props.onApply(q);
  };

  const onInput = (value: string) => {
    setText(value);
    if (timer.current != null) window.clearTimeout(timer.current);
    timer.current = props.applyOnPause === false ? null : window.setTimeout(() => apply(value), APPLY_AFTER_MS);
  };

  const syncScroll = () => {
    if (mirror.current && input.current) mirror.current.scrollLeft = input.current.scrollLeft;
  };

  const error = props.error && props.errorQuery === text ? props.error : null;
  const chars = Array.from(text);
  let marked = null;
  if (error) {
    const start = Math.min(error.position, chars.length);
    // A zero-length error (at the end of the query) underlines one blank after it.
    const end = Math.min(chars.length, start + Math.max(error.length, 1));
    const mark = start < end ? chars.slice(start, end).join("") : " ";
    marked = (
      <>
        {chars.slice(0, start).join("")}
        <mark>{mark}</mark>
        {chars.slice(end).join("")}
      </>
    );
  }

  return (
    <div class={`search${error ? " has-error" : ""}`}>
      <div class="field">
        <span class="icon">⌕</span>
        <div class="mirror" ref={mirror} aria-hidden="true">
          {marked ?? text}
        </div>
        <input
          ref={input}
          type="text"
          name={props.name}
          spellcheck={false}
          autocomplete="off"
          aria-label={props.label ?? "Search processes"}
          placeholder={props.placeholder ?? "Search processes: java -kafka   command:nginx   user:postgres   @cpu:>50"}
          value={text}
          onInput={(e) => {
            onInput((e.target as HTMLInputElement).value);
            syncScroll();
          }}
          onScroll={syncScroll}
          onKeyUp={syncScroll}
          onKeyDown={(e) => {
            if (e.key === "Enter") apply(text);
            if (e.key === "Escape") (e.target as HTMLInputElement).blur();
          }}
        />
        {text === "" && props.shortcut !== false && <span class="hint">/</span>}
      </div>
      {error && (
        <div class="error" role="alert">
          {error.message}
        </div>
      )}
    </div>
  );
}
