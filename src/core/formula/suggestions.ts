/**
 * The candidate a mistyped name most likely meant, or undefined when none is close. "Close"
 * grows with the length of the names, so `living_room_temp` still finds `living_room_temperature`.
 */
export function closestName(typed: string, candidates: Iterable<string>): string | undefined {
  // Names are lower case; a name typed in capitals should still find its match.
  const word = typed.toLowerCase();
  if (word.length > 100) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const limit = Math.max(1, Math.floor(Math.max(word.length, candidate.length) / 3));
    const distance = editDistance(word, candidate);
    // A distance as long as a name means nothing in common: "x" is not a typo of "a".
    if (distance <= limit && distance < Math.min(word.length, candidate.length) && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance: insertions, deletions and substitutions. Also what device-class suggestions use. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
