// A text input with a list of suggestions under it (a combobox): ↑/↓ move through the list,
// Enter picks the highlighted one (or, with none highlighted, enters what is typed), Escape
// closes the list, a click picks. What is typed is the caller's state; so is the list.

import type { ComponentChildren } from "preact";
import { useEffect, useId, useRef, useState } from "preact/hooks";

export interface SuggestItem {
  /** What picking it means; also its key. */
  value: string;
  label: ComponentChildren;
}

export function Suggest(props: {
  value: string;
  /** Typing: the text and the caret's position in it. */
  onInput: (text: string, caret: number) => void;
  items: readonly SuggestItem[];
  onPick: (item: SuggestItem, input: HTMLInputElement) => void;
  /** Enter with no suggestion highlighted. */
  onEnter?: (text: string) => void;
  onFocus?: (input: HTMLInputElement) => void;
  onBlur?: (text: string) => void;
  /** The input's accessible name. */
  label: string;
  name: string;
  placeholder?: string;
  class?: string;
  /** Highlight the first suggestion as the list opens, so Enter picks it. */
  autoHighlight?: boolean;
  /** Said in the open list when it is empty (nothing when absent). */
  emptyText?: string;
  /** Shown in the open list while suggestions load. */
  loading?: boolean;
}) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [highlight, setHighlight] = useState(-1);
  const list = useRef<HTMLUListElement>(null);
  const items = props.items;
  const first = props.autoHighlight && items.length > 0 ? 0 : -1;

  // A new list (typing, a reload) starts at its top.
  const itemsKey = items.map((i) => i.value).join("\n");
  useEffect(() => setHighlight(first), [itemsKey]);

  useEffect(() => {
    if (open && highlight >= 0) list.current?.children[highlight]?.scrollIntoView?.({ block: "nearest" });
  }, [open, highlight]);

  const pick = (item: SuggestItem, input: HTMLInputElement) => {
    setOpen(false);
    props.onPick(item, input);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const input = e.target as HTMLInputElement;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!open) {
        setOpen(true);
        return;
      }
      const n = items.length;
      if (n === 0) return;
      setHighlight((h) => (e.key === "ArrowDown" ? Math.min(n - 1, h + 1) : Math.max(props.autoHighlight ? 0 : -1, h - 1)));
    } else if (e.key === "Enter") {
      e.preventDefault();
      const item = open && highlight >= 0 ? items[highlight] : undefined;
      if (item) pick(item, input);
      else {
        setOpen(false);
        props.onEnter?.(input.value);
      }
    } else if (e.key === "Escape") {
      // The first Escape closes the list; the next leaves the field.
      e.stopPropagation();
      if (open) setOpen(false);
      else input.blur();
    } else if (e.key === "Tab") {
      setOpen(false);
    }
  };

  const active = open && highlight >= 0 && highlight < items.length ? `${id}-${highlight}` : undefined;
  const showList = open && (items.length > 0 || props.loading || props.emptyText);
  return (
    <div class={`suggest ${props.class ?? ""}`}>
      <input
        type="text"
        role="combobox"
        name={props.name}
        aria-label={props.label}
        aria-expanded={!!showList}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={active}
        autocomplete="off"
        spellcheck={false}
        placeholder={props.placeholder}
        value={props.value}
        onInput={(e) => {
          const input = e.target as HTMLInputElement;
          setOpen(true);
          props.onInput(input.value, input.selectionStart ?? input.value.length);
        }}
        onFocus={(e) => {
          setOpen(true);
          props.onFocus?.(e.target as HTMLInputElement);
        }}
        onBlur={(e) => {
          setOpen(false);
          props.onBlur?.((e.target as HTMLInputElement).value);
        }}
        onKeyDown={onKeyDown}
      />
      {showList && (
        <ul class="suggestions" role="listbox" id={`${id}-list`} ref={list} aria-label={props.label}>
          {items.map((item, i) => (
            <li
              key={item.value}
              id={`${id}-${i}`}
              role="option"
              aria-selected={i === highlight}
              class={i === highlight ? "highlight" : ""}
              data-value={item.value}
              // Picking on mousedown keeps the focus in the input (no blur first).
              onMouseDown={(e) => {
                e.preventDefault();
                const input = (e.currentTarget as HTMLElement).closest(".suggest")?.querySelector("input");
                if (input) pick(item, input);
              }}
              onMouseEnter={() => setHighlight(i)}
            >
              {item.label}
            </li>
          ))}
          {items.length === 0 && <li class="note">{props.loading ? "Loading…" : props.emptyText}</li>}
        </ul>
      )}
    </div>
  );
}
