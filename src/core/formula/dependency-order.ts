export type DependencyOrder =
  { readonly ok: true; readonly order: string[] } | { readonly ok: false; readonly cycle: string[] };

/**
 * Orders formula rules so that each comes after the formula rules it uses. `dependencies` maps
 * each formula rule's key to the keys it references; keys that are not in the map (plain rules)
 * are computed before any formula and ignored here. Rules that do not depend on each other keep
 * the map's order. A cycle is reported as the keys along it, the first repeated at the end:
 * `["a", "b", "a"]` for a using b using a, `["a", "a"]` for a formula using itself.
 */
export function orderByDependencies(dependencies: ReadonlyMap<string, readonly string[]>): DependencyOrder {
  const order: string[] = [];
  const done = new Set<string>();
  const path: string[] = []; // the keys being visited, each using the next

  // Recursive: as deep as the longest chain of formula rules written in the options.
  function visit(key: string): string[] | undefined {
    if (done.has(key)) return undefined;
    const onPath = path.indexOf(key);
    if (onPath >= 0) return [...path.slice(onPath), key];
    path.push(key);
    for (const used of dependencies.get(key) ?? []) {
      if (!dependencies.has(used)) continue;
      const cycle = visit(used);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    done.add(key);
    order.push(key);
    return undefined;
  }

  for (const key of dependencies.keys()) {
    const cycle = visit(key);
    if (cycle !== undefined) return { ok: false, cycle };
  }
  return { ok: true, order };
}
