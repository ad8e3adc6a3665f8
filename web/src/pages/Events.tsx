// The Events page: events in the range, newest first, with a strip of how many came when. Search
// their title and text, require tags (click a tag on an event to add it), pick a priority.
// A link to one event (`/events?id=12`, the `url` the API gives) shows only that event.
// Everything is in the URL; reloaded every 10 s while the page is visible.

import { useMemo, useState } from "preact/hooks";
import { ApiError } from "../api";
import { LoadErrorBanner, Loading, NavLink, RangePicker, RefreshStatus } from "../components/ApmParts";
import { SearchBar } from "../components/SearchBar";
import { TagList } from "../components/Tags";
import { TimeChart } from "../components/TimeChart";
import { bucketCounts, eventsPath, isLongText, parseEventsView, parseTags, withTag, type EventsView } from "../events-state";
import { formatCount, formatTime } from "../format";
import { metricsApi, type DdEvent } from "../metrics-api";
import { METRIC_RANGES, metricRangeMs } from "../metrics-state";
import { navigate } from "../router";
import { usePolling } from "../use-live-refresh";

export const EVENTS_REFRESH_MS = 10_000;
/** Events listed at first, and at most (the server's limit). */
const FIRST_LIMIT = 100;
const MAX_LIMIT = 1000;
/** Bars in the events-over-time strip. */
const BUCKETS = 60;

export function EventsPage(props: { search: string }) {
  const view = useMemo(() => parseEventsView(props.search), [props.search]);
  const setView = (patch: Partial<EventsView>, push = true) => navigate(eventsPath({ ...view, ...patch }), !push);
  const [limit, setLimit] = useState(FIRST_LIMIT);

  const polled = usePolling(
    async (signal) => {
      const to = Date.now();
      const from = to - metricRangeMs(view.range);
      if (view.id) {
        const one = await metricsApi.event(view.id, signal).catch((e) => {
          if (e instanceof ApiError && e.status === 404) return null;
          throw e;
        });
        return { events: one ? [one.event] : [], from, to };
      }
      const a = await metricsApi.events({ from, to, q: view.q, tags: view.tags.join(","), priority: view.priority, limit }, signal);
      return { events: a.events, from, to };
    },
    EVENTS_REFRESH_MS,
    `${view.range}|${view.q}|${view.tags.join(",")}|${view.priority}|${view.id}|${limit}`,
  );
  const data = polled.data;
  const events = data?.events;

  const strip = useMemo(() => {
    if (!data || view.id) return null;
    const { starts, counts } = bucketCounts(
      data.events.map((e) => e.date_happened * 1000),
      data.from,
      data.to,
      BUCKETS,
    );
    // An empty slice draws no bar (not a flat one).
    return { times: starts, series: [{ label: "events", color: "#632ca6", values: counts.map((n) => n || null) }] };
  }, [data, view.id]);

  const addTag = (tag: string) => setView({ tags: withTag(view.tags, tag), id: null });

  return (
    <div class="apm events">
      <div class="toolbar">
        <h2>Events</h2>
        <SearchBar query={view.q} error={null} errorQuery={null} onApply={(q) => setView({ q, id: null }, false)} name="q" label="Search events" placeholder="Search event titles and text" />
        <SearchBar
          query={view.tags.join(",")}
          error={null}
          errorQuery={null}
          onApply={(t) => setView({ tags: parseTags(t), id: null }, false)}
          shortcut={false}
          name="tags"
          label="Filter by tags"
          placeholder="Tags, all required: env:prod,service:web*"
        />
        <label class="inline">
          Priority{" "}
          <select name="priority" value={view.priority} onChange={(e) => setView({ priority: (e.target as HTMLSelectElement).value as EventsView["priority"] })}>
            <option value="">All</option>
            <option value="normal">normal</option>
            <option value="low">low</option>
          </select>
        </label>
        <RangePicker range={view.range} ranges={METRIC_RANGES} onChange={(range) => setView({ range })} />
        <RefreshStatus updatedAt={polled.updatedAt} failing={polled.error != null} />
      </div>
      <LoadErrorBanner what="events" error={polled.error} everyMs={EVENTS_REFRESH_MS} />
      {view.id && (
        <div class="banner note" data-event-link={view.id}>
          Showing event {view.id} only. <NavLink href={eventsPath({ range: view.range })}>Show all events</NavLink>
        </div>
      )}
      <div class="apm-body">
        {events == null && !polled.error ? (
          <Loading what="events" />
        ) : events && events.length === 0 ? (
          <div class="empty" data-empty="events">
            <strong>{view.id ? `No event ${view.id}` : `No events in the last ${view.range}`}</strong>
            {view.q || view.tags.length || view.priority ? (
              <>
                Nothing matches the filters.{" "}
                <button class="link" onClick={() => setView({ q: "", tags: [], priority: "" })}>
                  Clear the filters
                </button>
              </>
            ) : (
              <>
                Post one to <code>/api/v1/events</code>, or send it over DogStatsD: <code>{"echo -n '_e{5,4}:title|text|#env:prod' | nc -u -w0 127.0.0.1 8125"}</code>.
              </>
            )}
          </div>
        ) : events ? (
          <>
            {strip && (
              <div class="charts one strip">
                <TimeChart title={`${formatCount(events.length)} event${events.length === 1 ? "" : "s"} over the last ${view.range}`} from={data!.from} to={data!.to} times={strip.times} series={strip.series} format={(v) => formatCount(Math.round(v))} height={100} bars />
              </div>
            )}
            <ul class="event-list">
              {events.map((e) => (
                <EventRow key={e.id} event={e} onTag={addTag} />
              ))}
            </ul>
            {!view.id && (
              <div class="more">
                {events.length >= limit && limit < MAX_LIMIT ? (
                  <button onClick={() => setLimit(MAX_LIMIT)}>Show up to {formatCount(MAX_LIMIT)}</button>
                ) : (
                  <span class="muted">
                    {formatCount(events.length)} event{events.length === 1 ? "" : "s"}
                    {events.length >= limit ? `, the newest ${formatCount(limit)}: narrow the range or the filters to see older ones` : ", all shown"}
                  </span>
                )}
              </div>
            )}
          </>
        ) : null}
      </div>
    </div>
  );
}

function EventRow(props: { event: DdEvent; onTag: (tag: string) => void }) {
  const e = props.event;
  const [open, setOpen] = useState(false);
  const long = isLongText(e.text);
  return (
    <li class={`event alert-${e.alert_type}`} data-event-id={e.id} data-alert-type={e.alert_type}>
      <span class="marker" title={e.alert_type} aria-label={e.alert_type} />
      <div class="event-main">
        <div class="event-head">
          <strong class="title">{e.title}</strong>
          {e.priority === "low" && <span class="badge">low</span>}
          <span class="spacer" />
          <NavLink href={e.url || eventsPath({ id: String(e.id) })} class="time" title="Link to this event">
            {formatTime(e.date_happened * 1000)}
          </NavLink>
        </div>
        {e.text && (
          <div class={`event-text${long && !open ? " collapsed" : ""}`}>
            {e.text}
          </div>
        )}
        {long && (
          <button class="link more-toggle" onClick={() => setOpen(!open)}>
            {open ? "less" : "more"}
          </button>
        )}
        <div class="event-meta">
          {e.host && (
            <span>
              host <strong>{e.host}</strong>
            </span>
          )}
          {e.source_type_name && <span>source {e.source_type_name}</span>}
          {e.aggregation_key && <span>aggregation key {e.aggregation_key}</span>}
          {e.tags?.length > 0 && <TagList tags={e.tags} onPick={props.onTag} title="Add to the tag filter" />}
        </div>
      </div>
    </li>
  );
}
