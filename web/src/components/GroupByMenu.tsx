// The "Group by" menu: a checkbox per tag key, at most `max` of them, and "No grouping".

import { Menu } from "./Menu";

export function GroupByMenu(props: { keys: readonly string[]; by: readonly string[]; onChange: (by: string[]) => void; max?: number; note?: string }) {
  const { by, max } = props;
  // Keys already chosen stay offered even when the list no longer has them.
  const keys = [...props.keys, ...by.filter((k) => !props.keys.includes(k))];
  return (
    <Menu label={by.length ? `Group by: ${by.join(", ")}` : "Group by"} class="group-by">
      {() => (
        <>
          {props.note && <div class="note">{props.note}</div>}
          {keys.length === 0 && <div class="note">No tags to group by</div>}
          {keys.map((k) => (
            <label key={k}>
              <input
                type="checkbox"
                name={`by-${k}`}
                checked={by.includes(k)}
                disabled={!by.includes(k) && max != null && by.length >= max}
                onChange={() => props.onChange(by.includes(k) ? by.filter((b) => b !== k) : [...by, k])}
              />
              {k}
            </label>
          ))}
          {by.length > 0 && (
            <>
              <hr />
              <button class="link" onClick={() => props.onChange([])}>
                No grouping
              </button>
            </>
          )}
        </>
      )}
    </Menu>
  );
}
