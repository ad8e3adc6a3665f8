import { describe, expect, it } from "vitest";
import { addTerm, hasTag, quoteValue, removeTag, tagTerm, toggleTag, topLevelTags } from "../src/query-edit";

describe("facet clicks edit the query", () => {
  it("adds a tag filter to an empty query, then removes it", () => {
    const q = toggleTag("", "command", "nginx");
    expect(q).toBe("command:nginx");
    expect(toggleTag(q, "command", "nginx")).toBe("");
  });

  it("keeps what the user typed around it", () => {
    expect(toggleTag("java -kafka", "user", "app")).toBe("java -kafka user:app");
    expect(toggleTag("java user:app -kafka", "user", "app")).toBe("java -kafka");
  });

  it("matches keys and values ignoring case, as the search does", () => {
    expect(hasTag("USER:Root", "user", "root")).toBe(true);
    expect(toggleTag("java User:ROOT", "user", "root")).toBe("java");
  });

  it("parenthesizes a query with a top-level OR before adding", () => {
    expect(addTerm("java OR python", "env:prod")).toBe("(java OR python) env:prod");
    expect(addTerm("(java OR python)", "env:prod")).toBe("(java OR python) env:prod");
  });

  it("does not treat filters inside parentheses or negated as selected", () => {
    expect(hasTag("(user:app OR user:root)", "user", "app")).toBe(false);
    expect(hasTag("-user:app", "user", "app")).toBe(false);
    expect(toggleTag("-user:app", "user", "app")).toBe("-user:app user:app");
  });

  it("drops an AND that joined the removed filter", () => {
    expect(removeTag("java AND user:app", "user", "app")).toBe("java");
    expect(removeTag("user:app AND java", "user", "app")).toBe("java");
  });

  it("quotes values the grammar would otherwise split or treat as wildcards", () => {
    expect(quoteValue("nginx")).toBe("nginx");
    expect(quoteValue("a b")).toBe('"a b"');
    expect(quoteValue("web-*")).toBe('"web-*"');
    expect(quoteValue('say "hi"')).toBe('"say \\"hi\\""');
    expect(quoteValue("")).toBe('""');
    expect(tagTerm("service", null)).toBe("-service:*");
    expect(toggleTag("", "image", "nginx:1.25")).toBe("image:nginx:1.25");
  });

  it("finds quoted values and removes them", () => {
    const q = toggleTag("java", "service", "my app");
    expect(q).toBe('java service:"my app"');
    expect(topLevelTags(q)).toEqual([["service", "my app"]]);
    expect(toggleTag(q, "service", "my app")).toBe("java");
  });

  it("ignores numeric comparisons and phrases with colons", () => {
    expect(topLevelTags('@cpu:>50 "nginx: worker" host:web-1')).toEqual([["host", "web-1"]]);
  });
});

describe("facet clicks respect NOT and OR", () => {
  it("a negated filter is not selected, and a click adds the positive one", () => {
    expect(hasTag("java NOT user:app", "user", "app")).toBe(false);
    expect(toggleTag("java NOT user:app", "user", "app")).toBe("java NOT user:app user:app");
  });

  it("a filter inside a top-level OR is not selected, so a click narrows the whole query", () => {
    expect(hasTag("user:app OR user:root", "user", "app")).toBe(false);
    expect(toggleTag("user:app OR user:root", "user", "app")).toBe("(user:app OR user:root) user:app");
  });

  it("quotes values that would read as comparisons or ranges", () => {
    expect(quoteValue(">5")).toBe('">5"');
    expect(quoteValue("[x]")).toBe('"[x]"');
  });

  it("keeps the spacing inside phrases when removing a filter", () => {
    expect(removeTag('"a  b" user:app  java', "user", "app")).toBe('"a  b" java');
  });
});
