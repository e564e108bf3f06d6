import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseOptions } from "../../src/options/parse-options.js";

/** Every YAML example in DOCS.md must be options the add-on accepts: the docs cannot drift. */
const docs = readFileSync(new URL("../../DOCS.md", import.meta.url), "utf8");
const blocks = [...docs.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1] ?? "");

function asOptions(block: string): unknown {
  // Rule snippets are list items indented under an implied `rules:`.
  return block.trimStart().startsWith("- ") ? parse(`rules:\n${block}`) : parse(block);
}

describe("DOCS.md examples", () => {
  it("has examples", () => {
    expect(blocks.length).toBeGreaterThan(5);
  });

  it.each(blocks.map((block, index) => [index, block] as const))(
    "example %i is valid options",
    (_index, block) => {
      const result = parseOptions(asOptions(block));
      expect(result.ok ? [] : result.problems).toEqual([]);
    },
  );
});
