/**
 * Payloads' numbers are read by hand rather than by a regular expression and Number(): they must
 * be read exactly as those read them, the same texts taken and rejected and the same doubles.
 */
import { describe, expect, it } from "vitest";
import { textValue, type ReadingValue } from "../../src/core/reading-value.js";

/** How 0.2.0 read a text: the reference. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
function referenceKind(text: string): "number" | "not a number" {
  return DECIMAL.test(text.trim()) ? "number" : "not a number";
}
function referenceNumber(text: string): number {
  const value = Number(text.trim());
  return value === 0 ? 0 : value;
}

function numberIn(value: ReadingValue): number | undefined {
  if (value.kind === "number") return value.value;
  // A decimal that overflows is unusable, not text.
  if (value.kind === "unusable") return Number.POSITIVE_INFINITY;
  return undefined;
}

/** A small deterministic generator, so that a failure can be reproduced. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

function expectAsReference(text: string): void {
  const value = textValue(text);
  if (referenceKind(text) === "number") {
    const expected = referenceNumber(text);
    const read = numberIn(value);
    if (Number.isFinite(expected))
      expect(Object.is(read, expected), `${JSON.stringify(text)}: ${read}`).toBe(true);
    else expect(value.kind, JSON.stringify(text)).toBe("unusable");
  } else {
    expect(value.kind, JSON.stringify(text)).not.toBe("number");
  }
}

describe("decimal text", () => {
  it.each([
    "21.5",
    "-0",
    "-0.0",
    "+.5",
    "5.",
    ".",
    "+",
    "-",
    "1e5",
    "1.e5",
    ".e5",
    "1e",
    "1e+",
    "1e-7",
    "1.5.3",
    "1e5.3",
    "0x1F",
    "1_000",
    "Infinity",
    "-Infinity",
    "0.1",
    "0.3",
    "123456789012345",
    "1234567890123456",
    "12345678901234567890",
    "0.000000000000001",
    "0.0000000000000001",
    "9007199254740993",
    "999999999999999.9",
    "1.7976931348623157e308",
    "1e309",
    "٣",
  ])("reads %j as a regular expression and Number() did", (text) => {
    expectAsReference(text);
  });

  it("reads random texts of digits, signs, points and exponents as they did", () => {
    const next = random(11);
    const alphabet = "0123456789000111999.+-eE x_";
    for (let round = 0; round < 50_000; round++) {
      const length = 1 + Math.floor(next() * 20);
      let text = "";
      for (let index = 0; index < length; index++)
        text += alphabet.charAt(Math.floor(next() * alphabet.length));
      expectAsReference(text);
    }
  });

  it("reads random decimals of up to 17 digits to the same double", () => {
    const next = random(5);
    for (let round = 0; round < 50_000; round++) {
      const digits = String(Math.floor(next() * 1e17)).slice(0, 1 + Math.floor(next() * 17));
      const point = Math.floor(next() * (digits.length + 1));
      const text = `${next() < 0.3 ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}`;
      expectAsReference(text);
    }
  });
});
