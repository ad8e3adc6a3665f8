// Runs a Refresher while the component is mounted, following the page's visibility.

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Refresher } from "./refresher";

/** Starts `refresher` now, reloads when the page becomes visible again, stops on unmount or when it is replaced. */
export function useLiveRefresh(refresher: Refresher): void {
  useEffect(() => {
    refresher.start();
    const onVisible = () => refresher.visibilityChanged();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      refresher.stop();
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, [refresher]);
}

/** Reloads at once when `key` (what the page shows: its query, range, filters) changes after the first render. */
export function useReloadOnChange(refresher: Refresher, key: string): void {
  const first = useRef<string | null>(key);
  useEffect(() => {
    if (first.current === key) return;
    first.current = null;
    refresher.now();
  }, [key]);
}

/** What a polled page has: the last good answer (and the `key` it was loaded for), the error of
 * the last load (null once a load succeeds), and when the last good answer came. */
export interface Polled<T> {
  data: T | null;
  key: string | null;
  error: Error | null;
  updatedAt: number | null;
}

/** Loads with `load` now, every `intervalMs` while the page is visible, and at once when `key`
 * changes. `load` may change on every render: the latest one is used. A failed load keeps the
 * last good answer, so a page can show it with the error. */
export function usePolling<T>(load: (signal: AbortSignal) => Promise<T>, intervalMs: number, key: string): Polled<T> & { refresher: Refresher } {
  const [state, setState] = useState<Polled<T>>({ data: null, key: null, error: null, updatedAt: null });
  const latest = useRef({ load, key });
  latest.current = { load, key };
  const refresher = useMemo(
    () =>
      new Refresher(async (signal) => {
        const { load: run, key: k } = latest.current;
        try {
          const data = await run(signal);
          if (!signal.aborted) setState({ data, key: k, error: null, updatedAt: Date.now() });
        } catch (e) {
          if ((e as Error).name !== "AbortError" && !signal.aborted) setState((s) => ({ ...s, error: e as Error }));
        }
      }, intervalMs),
    [intervalMs],
  );
  useLiveRefresh(refresher);
  useReloadOnChange(refresher, key);
  return { ...state, refresher };
}
