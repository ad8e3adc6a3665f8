// A button that opens a small popup below it, closed by a click elsewhere or Escape.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";

export function Menu(props: {
  label: ComponentChildren;
  title?: string;
  class?: string;
  onOpen?: () => void;
  children: (close: () => void) => ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (root.current && !root.current.contains(e.target as Node)) setOpen(false);
    };
    const onKey = (e: KeyboardEvent) => e.key === "Escape" && setOpen(false);
    document.addEventListener("mousedown", onDown);
    document.addEventListener("keydown", onKey);
    return () => {
      document.removeEventListener("mousedown", onDown);
      document.removeEventListener("keydown", onKey);
    };
  }, [open]);
  return (
    <div class="menu" ref={root}>
      <button class={`${props.class ?? ""}${open ? " active" : ""}`} title={props.title} onClick={() => {
          if (!open) props.onOpen?.();
          setOpen(!open);
        }}>
        {props.label} ▾
      </button>
      {open && <div class="popup">{props.children(() => setOpen(false))}</div>}
    </div>
  );
}
