// Editing a search query the way a facet click does: add or remove a top-level `key:value`
// filter, leaving the rest of what the user typed alone. The grammar is docs/search.md; this
// only needs to find the query's top-level words, so it tokenizes and does not parse.

/** A piece of the query: a word (term, tag filter, keyword), a phrase, or a parenthesis. */
interface Token {
  text: string;
  start: number;
  end: number;
  depth: number;
}

const KEY_CHARS = /^[A-Za-z0-9_.\-/@]+$/;

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let depth = 0;
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "(" || c === ")") {
      if (c === ")") depth = Math.max(0, depth - 1);
      tokens.push({ text: c, start: i, end: i + 1, depth });
      if (c === "(") depth++;
      i++;
    } else {
      // A word runs to whitespace or a parenthesis; quotes inside it (key:"a b") keep spaces.
      const start = i;
      let quoted = false;
      while (i < query.length) {
        const d = query[i];
        if (quoted) {
          if (d === "\\" && i + 1 < query.length) i++;
          else if (d === '"') quoted = false;
        } else if (d === '"') quoted = true;
        else if (/\s/.test(d) || d === "(" || d === ")") break;
        i++;
      }
      tokens.push({ text: query.slice(start, i), start, end: i, depth });
    }
  }
  return tokens;
}

/** `value` as it must be written after `key:` to match exactly: quoted when it has spaces, quotes, parentheses or `*`. */
export function quoteValue(value: string): string {
  // A leading comparison or range bracket would read as a numeric filter (`key:>5`, `key:[1 TO 2]`).
  if (value !== "" && !/[\s"()*\\]/.test(value) && !/^[<>[{]/.test(value)) return value;
  return `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The filter term for a tag: `key:value`, or `-key:*` for "has no such tag" (value null). */
export function tagTerm(key: string, value: string | null): string {
  return value == null ? `-${key}:*` : `${key}:${quoteValue(value)}`;
}

function unquote(raw: string): string {
  if (raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')) {
    return raw.slice(1, -1).replace(/\\(["\\])/g, "$1");
  }
  return raw;
}

/** The tokens that are required top-level filters: not inside parentheses, not after `NOT`,
 * and none at all when the query has a top-level `OR` (then no single filter is required). */
function requiredTokens(tokens: Token[]): Token[] {
  if (hasTopLevelOr(tokens)) return [];
  return tokens.filter((t, i) => t.depth === 0 && !(i > 0 && tokens[i - 1].depth === 0 && tokens[i - 1].text === "NOT"));
}

/** The top-level `key:value` filters every match must have (not negated, not inside
 * parentheses, not in an `OR`), as [key, value]. */
export function topLevelTags(query: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const t of requiredTokens(tokenize(query))) {
    const colon = t.text.indexOf(":");
    if (colon <= 0) continue;
    const key = t.text.slice(0, colon);
    if (!KEY_CHARS.test(key) || key.startsWith("@")) continue;
    out.push([key.toLowerCase(), unquote(t.text.slice(colon + 1))]);
  }
  return out;
}

/** Whether `query` has `key:value` as a top-level filter (ignoring case, as the search does). */
export function hasTag(query: string, key: string, value: string): boolean {
  const k = key.toLowerCase();
  const v = value.toLowerCase();
  return topLevelTags(query).some(([tk, tv]) => tk === k && tv.toLowerCase() === v);
}

function hasTopLevelOr(tokens: Token[]): boolean {
  return tokens.some((t) => t.depth === 0 && t.text === "OR");
}

/** `query` and `term` both required. A query with a top-level `OR` is parenthesized first, so
 * `a OR b` becomes `(a OR b) term` rather than `a OR (b term)`. */
export function addTerm(query: string, term: string): string {
  const q = query.trim();
  if (q === "" || q === "*") return term;
  return hasTopLevelOr(tokenize(q)) ? `(${q}) ${term}` : `${q} ${term}`;
}

/** `query` without its top-level `key:value` filters (ignoring case). */
export function removeTag(query: string, key: string, value: string): string {
  const k = key.toLowerCase();
  const v = value.toLowerCase();
  const tokens = tokenize(query);
  const required = new Set(requiredTokens(tokens));
  let out = query;
  for (let i = tokens.length - 1; i >= 0; i--) {
    const t = tokens[i];
    if (!required.has(t)) continue;
    const colon = t.text.indexOf(":");
    if (colon <= 0 || t.text.slice(0, colon).toLowerCase() !== k) continue;
    if (unquote(t.text.slice(colon + 1)).toLowerCase() !== v) continue;
    // Drop a dangling AND that joined it to its neighbour.
    let start = t.start;
    let end = t.end;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    if (prev && prev.depth === 0 && prev.text === "AND") start = prev.start;
    else if (next && next.depth === 0 && next.text === "AND") end = next.end;
    // Only the blanks around the removed filter go; spaces inside phrases stay as typed.
    const left = out.slice(0, start).trimEnd();
    const right = out.slice(end).trimStart();
    out = left && right ? `${left} ${right}` : left + right;
  }
  return out.trim();
}

/** A facet click: removes `key:value` when the query has it, else adds it. */
export function toggleTag(query: string, key: string, value: string): string {
  return hasTag(query, key, value) ? removeTag(query, key, value) : addTerm(query, tagTerm(key, value));
}
