// Client-side navigation between the pages, with the History API. The server answers every
// page path with index.html, so a reload or a shared link lands on the same page.

import { useEffect, useState } from "preact/hooks";

type Listener = () => void;
const listeners = new Set<Listener>();
const notify = () => listeners.forEach((l) => l());
window.addEventListener("popstate", notify);

/** Goes to `path` (with its search string): a new history entry, or replacing this one. */
export function navigate(path: string, replace = false): void {
  if (path === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  notify();
}

/** The current path and search string, re-rendering on navigation. */
export function useLocation(): { path: string; search: string } {
  const [, setTick] = useState(0);
  useEffect(() => {
    const l = () => setTick((t) => t + 1);
    listeners.add(l);
    return () => listeners.delete(l);
  }, []);
  return { path: location.pathname, search: location.search };
}
