// Saved views: the page's query, columns, grouping and visualization stored on the server under
// a name, so everyone using this server sees them. Load, save as, update, rename, delete;
// a Read Only user only loads them (the server needs the Standard role to change them).

import { useContext, useEffect, useState } from "preact/hooks";
import { api, type SavedView } from "../api";
import { canEditViews, roleLabel } from "../auth";
import { SessionContext } from "../session-context";
import { Menu } from "./Menu";

/** Why a user cannot change saved views. */
const readOnlyWhy = (role: string) => `Your role (${roleLabel(role)}) can load saved views; saving, renaming and deleting them needs the Standard or Admin role.`;

export function SavedViews(props: {
  page: string;
  /** What saving stores now. */
  state: object;
  /** The view last loaded or saved, by id. */
  current: number | null;
  onLoad: (view: SavedView) => void;
  onCurrent: (id: number | null) => void;
}) {
  const [views, setViews] = useState<SavedView[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState("");
  const [renaming, setRenaming] = useState<{ id: number; name: string } | null>(null);
  const me = useContext(SessionContext);
  const canEdit = canEditViews(me?.user.role);

  const reload = () =>
    api
      .views(props.page)
      .then((a) => {
        setViews(a.views);
        setError(null);
      })
      .catch((e) => setError((e as Error).message));
  useEffect(() => {
    reload();
  }, [props.page]);

  const run = (action: Promise<unknown>) =>
    action.then(reload).catch((e) => {
      setError((e as Error).message);
    });

  const current = views?.find((v) => v.id === props.current) ?? null;
  return (
    <Menu label={current ? `View: ${current.name}` : "Saved views"} title="Saved views" class="views-button" onOpen={reload}>
      {(close) => (
        <div class="saved-views" style="min-width:300px">
          {views == null && !error && (
            <div class="note">
              <span class="spinner" /> Loading…
            </div>
          )}
          {views?.length === 0 && <div class="note">{canEdit ? "No saved views yet. Save this one below." : "No saved views yet."}</div>}
          {views?.map((v) =>
            renaming?.id === v.id ? (
              <form
                class="row"
                key={v.id}
                onSubmit={(e) => {
                  e.preventDefault();
                  run(api.updateView(v.id, { name: renaming.name }).then(() => setRenaming(null)));
                }}
              >
                <input type="text" aria-label="New name" value={renaming.name} onInput={(e) => setRenaming({ id: v.id, name: (e.target as HTMLInputElement).value })} style="flex:1" autoFocus />
                <button type="submit">Rename</button>
                <button type="button" onClick={() => setRenaming(null)}>
                  Cancel
                </button>
              </form>
            ) : (
              <div class="row" key={v.id} data-view={v.name}>
                <span
                  class="name"
                  role="button"
                  tabIndex={0}
                  onKeyDown={(e) => {
                    if (e.key !== "Enter") return;
                    props.onLoad(v);
                    close();
                  }}
                  title={`Load "${v.name}"`}
                  onClick={() => {
                    props.onLoad(v);
                    close();
                  }}
                >
                  {v.id === props.current ? "● " : ""}
                  {v.name}
                </span>
                {canEdit && (
                  <>
                    <button class="link" title="Rename" onClick={() => setRenaming({ id: v.id, name: v.name })}>
                      Rename
                    </button>
                    <button
                      class="link"
                      title="Delete"
                      onClick={() => {
                        if (!confirm(`Delete the saved view "${v.name}" for everyone?`)) return;
                        if (v.id === props.current) props.onCurrent(null);
                        run(api.deleteView(v.id));
                      }}
                    >
                      Delete
                    </button>
                  </>
                )}
              </div>
            ),
          )}
          <hr />
          {!canEdit && (
            <div class="note views-readonly" data-views-readonly title={readOnlyWhy(me?.user.role ?? "read_only")}>
              {readOnlyWhy(me?.user.role ?? "read_only")}
            </div>
          )}
          {canEdit && current && (
            <div class="row">
              <button onClick={() => run(api.updateView(current.id, { state: props.state }))} title="Store the current query, columns, grouping and visualization in this view">
                Update “{current.name}”
              </button>
            </div>
          )}
          {canEdit && (
            <form
              class="row"
              onSubmit={(e) => {
                e.preventDefault();
                run(
                  api.createView(props.page, name, props.state).then((v) => {
                    props.onCurrent(v.id);
                    setName("");
                  }),
                );
              }}
            >
              <input type="text" aria-label="View name" placeholder="Name this view" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} style="flex:1" />
              <button type="submit" class="primary" disabled={name.trim() === ""}>
                Save
              </button>
            </form>
          )}
          {error && (
            <div class="error" role="alert">
              {error}
            </div>
          )}
        </div>
      )}
    </Menu>
  );
}
