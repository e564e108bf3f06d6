import type { DerivedState, DerivedValue, SourceStatus } from "./derived-value.js";
import { contestedKeys, identify, type EntityIdentity, type SavedEntityKey } from "./entity-group.js";
import { ruleKeyOfEntity } from "./entity-naming.js";
import { evaluateFormula, orderByDependencies, type FormulaValue } from "./formula/index.js";
import {
  fansOut,
  isFormulaRule,
  type ConfiguredRule,
  type FormulaReference,
  type FormulaRule,
} from "./rule.js";

/** The latest value of an entity, and when it was computed. */
interface Latest {
  readonly state: DerivedState;
  readonly at: number;
}

/** One entity of a formula rule: the rule's only one, or one per value of its named wildcards. */
interface FormulaEntity {
  readonly identity: EntityIdentity;
  /** Whether its formula has had a value: a fanned-out formula entity exists only from then on. */
  revealed: boolean;
  /** To be computed at the next change: a held-back or debounced output falls due. */
  marked: boolean;
}

interface FormulaState {
  readonly rule: FormulaRule;
  /** By the captured values, in the rule's order, joined with "/" (which no topic level holds). */
  readonly entities: Map<string, FormulaEntity>;
  readonly entityKeys: Set<string>;
  /** Keys that values slugging alike had in an earlier run, by the values joined with "/", and their owners. */
  readonly reservedKeys: Map<string, string>;
  readonly reservedOwners: Set<string>;
}

/** Which entities of a formula rule a computation covers. */
type Scope = "all" | "changed" | "marked";

/**
 * The entities of formula rules, computed from the latest value of every entity they use.
 *
 * Each read and each flush of changes hands in the values it computed; formula rules are then
 * computed in dependency order, each after the formula rules it uses, so a formula over a formula
 * sees its new value in the same pass. A read may cover only some rules, so the latest value of
 * every entity is kept here (one small entry per entity, replaced at every computation).
 *
 * A formula rule that fans out makes one entity per value of its named wildcards seen in a rule it
 * uses that has all of them; such an entity exists once its formula has had a value, like an
 * entity of a fanned-out rule once it has had a usable reading.
 */
export class FormulaRules {
  private readonly states: FormulaState[] = [];
  private readonly latest = new Map<string, Latest>();
  /** Entity keys of fanned-out rules by their captured values (see captureKey), per rule key. */
  private readonly byCaptures = new Map<string, Map<string, string>>();
  /** Formula rules whose entities are made from the values a rule's entities have, by that rule's key. */
  private readonly fedBy = new Map<string, FormulaState[]>();
  private readonly byEntityKey = new Map<string, FormulaEntity>();
  /** Entity keys shown in an earlier run: they exist again as soon as they are computed. */
  private readonly shownBefore = new Set<string>();
  private markedCount = 0;

  constructor(rules: readonly ConfiguredRule[]) {
    const formulas = new Map(rules.filter(isFormulaRule).map((rule) => [rule.key, rule]));
    const ordered = orderByDependencies(
      new Map([...formulas.values()].map((rule) => [rule.key, [...rule.references.values()].map(ruleKeyOf)])),
    );
    // The options refuse cycles: one here is a bug.
    if (!ordered.ok) throw new Error(`formula rules use each other: ${ordered.cycle.join(" → ")}`);
    for (const key of ordered.order) {
      const rule = formulas.get(key);
      if (rule === undefined) continue;
      const state: FormulaState = {
        rule,
        entities: new Map(),
        entityKeys: new Set(),
        reservedKeys: new Map(),
        reservedOwners: new Set(),
      };
      this.states.push(state);
      if (!fansOut(rule)) this.entityOf(state, []);
      for (const reference of rule.references.values()) {
        if (reference.kind !== "joined" || reference.captureNames.length !== rule.captureNames.length)
          continue;
        const fed = this.fedBy.get(reference.ruleKey) ?? [];
        fed.push(state);
        this.fedBy.set(reference.ruleKey, fed);
      }
    }
  }

  /**
   * After a read of `ruleKeys` (every rule when undefined) produced `values`: the formula rules
   * read with them, and the entities of other formula rules whose inputs are among the values.
   */
  afterRead(values: readonly DerivedValue[], now: number, ruleKeys?: readonly string[]): DerivedValue[] {
    const read = ruleKeys === undefined ? undefined : new Set(ruleKeys);
    return this.compute(values, now, (rule) =>
      read === undefined || read.has(rule.key) ? "all" : "changed",
    );
  }

  /**
   * After a flush of changes produced `values`: entities of `update: change` formula rules whose
   * inputs are among them, transitively, and every entity marked since the last computation.
   */
  afterChange(values: readonly DerivedValue[], now: number): DerivedValue[] {
    return this.compute(values, now, (rule) => (rule.update === "change" ? "changed" : "marked"));
  }

  /** Whether some formula entity was marked to be computed at the next change. */
  get hasMarks(): boolean {
    return this.markedCount > 0;
  }

  /** Marks a formula entity for the next change; false when the key is no formula entity's. */
  mark(entityKey: string): boolean {
    const entity = this.byEntityKey.get(entityKey);
    if (entity === undefined) return false;
    if (!entity.marked) this.markedCount += 1;
    entity.marked = true;
    return true;
  }

  /** The formula entities that exist now. */
  entities(): EntityIdentity[] {
    return this.states.flatMap((state) =>
      [...state.entities.values()]
        .filter((entity) => this.exists(state.rule, entity))
        .map((entity) => entity.identity),
    );
  }

  /** Keys of fanned-out formula entities that exist, to be saved so that a restart does not hide them. */
  shownEntityKeys(): string[] {
    const keys = new Set<string>();
    const formulaKeys = new Set(this.states.map((state) => state.rule.key));
    for (const key of this.shownBefore) if (formulaKeys.has(ruleKeyOfEntity(key))) keys.add(key);
    for (const state of this.states) {
      if (!fansOut(state.rule)) continue;
      for (const entity of state.entities.values()) if (entity.revealed) keys.add(entity.identity.entityKey);
    }
    return [...keys];
  }

  /** Takes back the keys saved by shownEntityKeys. */
  rememberShownEntities(entityKeys: readonly string[]): void {
    for (const key of entityKeys) this.shownBefore.add(key);
  }

  /**
   * Entity keys of formula entities whose values slug alike, to be saved: which of them got the
   * plain key depended on the order they were first computed in, and must survive a restart.
   */
  contestedEntityKeys(): SavedEntityKey[] {
    return this.states.flatMap((state) =>
      contestedKeys(
        state.rule,
        [...state.entities.values()].map((entity) => entity.identity),
      ),
    );
  }

  /** Takes back keys saved by contestedEntityKeys (those of other rules are left alone). */
  reserveEntityKeys(saved: readonly SavedEntityKey[]): void {
    for (const { rule, captures, entityKey } of saved) {
      const state = this.states.find((each) => each.rule.key === rule);
      if (state === undefined || captures.length !== state.rule.captureNames.length) continue;
      state.reservedKeys.set(captures.join("/"), entityKey);
      state.reservedOwners.add(entityKey);
    }
  }

  private compute(
    values: readonly DerivedValue[],
    now: number,
    scopeOf: (rule: FormulaRule) => Scope,
  ): DerivedValue[] {
    const changed = new Set<string>();
    for (const value of values) {
      this.remember(value, now);
      changed.add(value.identity.entityKey);
    }
    const computed: DerivedValue[] = [];
    for (const state of this.states) {
      const scope = scopeOf(state.rule);
      for (const entity of state.entities.values()) {
        const due =
          scope === "all" ||
          entity.marked ||
          (scope === "changed" && this.inputKeysOf(state.rule, entity).some((key) => changed.has(key)));
        if (!due) continue;
        entity.marked = false;
        const value = this.evaluate(state.rule, entity, now);
        // Remembered at once: formula rules later in the order may use it in this same pass.
        this.remember(value, now);
        changed.add(entity.identity.entityKey);
        if (this.exists(state.rule, entity)) computed.push(value);
      }
    }
    this.markedCount = 0;
    return computed;
  }

  private remember(value: DerivedValue, now: number): void {
    const { identity } = value;
    this.latest.set(identity.entityKey, { state: value.state, at: now });
    if (Object.keys(identity.captures).length === 0) return;
    let index = this.byCaptures.get(identity.ruleKey);
    if (index === undefined) {
      index = new Map();
      this.byCaptures.set(identity.ruleKey, index);
    }
    index.set(captureKey(Object.keys(identity.captures), identity.captures), identity.entityKey);
    for (const state of this.fedBy.get(identity.ruleKey) ?? [])
      this.entityOf(
        state,
        state.rule.captureNames.map((name) => identity.captures[name] ?? ""),
      );
  }

  private entityOf(state: FormulaState, captures: readonly string[]): FormulaEntity {
    const key = captures.join("/");
    let entity = state.entities.get(key);
    if (entity === undefined) {
      const isTaken = (entityKey: string) =>
        state.entityKeys.has(entityKey) || state.reservedOwners.has(entityKey);
      const identity = identify(state.rule, captures, isTaken, state.reservedKeys.get(key));
      state.entityKeys.add(identity.entityKey);
      entity = { identity, revealed: false, marked: false };
      state.entities.set(key, entity);
      this.byEntityKey.set(identity.entityKey, entity);
    }
    return entity;
  }

  private exists(rule: FormulaRule, entity: FormulaEntity): boolean {
    if (!entity.revealed && this.shownBefore.has(entity.identity.entityKey)) entity.revealed = true;
    return entity.revealed || !fansOut(rule);
  }

  /** The entity a reference stands for in one formula entity, if it exists. */
  private entityKeyOf(reference: FormulaReference, entity: FormulaEntity): string | undefined {
    if (reference.kind === "entity") return reference.entityKey;
    return this.byCaptures
      .get(reference.ruleKey)
      ?.get(captureKey(reference.captureNames, entity.identity.captures));
  }

  private inputKeysOf(rule: FormulaRule, entity: FormulaEntity): string[] {
    const keys: string[] = [];
    for (const reference of rule.references.values()) {
      const key = this.entityKeyOf(reference, entity);
      if (key !== undefined) keys.push(key);
    }
    return keys;
  }

  private evaluate(rule: FormulaRule, entity: FormulaEntity, now: number): DerivedValue {
    const values = new Map<string, FormulaValue>();
    const counted: SourceStatus[] = [];
    const unavailable: SourceStatus[] = [];
    // Every name the formula uses is listed, whether this computation needed it or not.
    for (const name of rule.formula.references) {
      const reference = rule.references.get(name);
      const entityKey = reference === undefined ? undefined : this.entityKeyOf(reference, entity);
      const latest = entityKey === undefined ? undefined : this.latest.get(entityKey);
      const value =
        latest !== undefined
          ? formulaValueOf(latest.state)
          : unavailableValue(
              reference?.kind === "joined" ? noEntityFor(reference, entity.identity) : "no value yet",
            );
      values.set(name, value);
      const status: SourceStatus = {
        source: name,
        topic: entityKey ?? "",
        state: value.kind === "unavailable" ? "unavailable" : "counted",
        value: value.kind === "unavailable" ? undefined : value.value,
        reason: value.kind === "unavailable" ? value.reason : undefined,
        receivedAt: latest?.at ?? now,
      };
      (value.kind === "unavailable" ? unavailable : counted).push(status);
    }
    const result = evaluateFormula(
      rule.formula,
      (name) => values.get(name) ?? unavailableValue("not a name of this formula"),
    );
    if (result.kind !== "unavailable") entity.revealed = true;
    return {
      identity: entity.identity,
      state: derivedStateOf(result),
      inputs: counted.length,
      sources: counted.concat(unavailable),
      counts: {
        counted: counted.length,
        stale: 0,
        offline: 0,
        unusable: 0,
        out_of_range: 0,
        no_value: 0,
        unavailable: unavailable.length,
      },
      leftOut: 0,
      // A formula changes when what it uses does: those entities say when, and it follows them.
      changesAt: undefined,
    };
  }
}

function ruleKeyOf(reference: FormulaReference): string {
  return reference.ruleKey;
}

/** Captured values by name, the names sorted, so that either side of a join finds the same key. */
function captureKey(names: readonly string[], captures: Readonly<Record<string, string>>): string {
  return [...names]
    .sort()
    .map((name) => captures[name] ?? "")
    .join("/");
}

function noEntityFor(reference: FormulaReference & { kind: "joined" }, identity: EntityIdentity): string {
  const values = reference.captureNames.map(
    (name) => `${name} ${JSON.stringify(identity.captures[name] ?? "")}`,
  );
  return `no entity for ${values.join(", ")}`;
}

function formulaValueOf(state: DerivedState): FormulaValue {
  switch (state.kind) {
    case "number":
      return { kind: "number", value: state.value };
    case "binary":
      return { kind: "boolean", value: state.on };
    case "none":
      return unavailableValue(state.reason);
  }
}

function derivedStateOf(value: FormulaValue): DerivedState {
  switch (value.kind) {
    case "number":
      return { kind: "number", value: value.value };
    case "boolean":
      return { kind: "binary", on: value.value };
    case "unavailable":
      return { kind: "none", reason: value.reason };
  }
}

function unavailableValue(reason: string): FormulaValue {
  return { kind: "unavailable", reason };
}
