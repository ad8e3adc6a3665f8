// The integrations routes (docs/api.md, "Integrations"), typed.

import { get } from "./api";
import type { IntegrationDetail, IntegrationsAnswer } from "./integrations-state";

export const integrationsApi = {
  /** Every integration that runs or is configured somewhere; with `host`, only that host's, each with its pids there. */
  list: (host: string | null, signal?: AbortSignal) => get<IntegrationsAnswer>("/api/ui/integrations", { host }, signal),
  /** One integration and each host that runs it or has its check configured. */
  one: (id: string, signal?: AbortSignal) => get<IntegrationDetail>(`/api/ui/integrations/${encodeURIComponent(id)}`, {}, signal),
};
