// Runs a Refresher while the component is mounted, following the page's visibility.

import { useEffect } from "preact/hooks";
import type { Refresher } from "./refresher";

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
