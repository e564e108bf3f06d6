// @ts-check
/**
 * The status page in the browser. Everything shown comes from the add-on as JSON and is put in the
 * page with createElement and textContent only: a topic or payload holding markup stays text.
 * Every URL is relative, so the page works under Home Assistant's ingress path as on its own.
 *
 * @typedef {import("../wire.js").Snapshot} Snapshot
 * @typedef {import("../wire.js").Update} Update
 * @typedef {import("../wire.js").RuleView} RuleView
 * @typedef {import("../wire.js").EntityView} EntityView
 * @typedef {import("../wire.js").SourceView} SourceView
 * @typedef {import("../wire.js").Inspection} Inspection
 * @typedef {import("../wire.js").PayloadView} PayloadView
 * @typedef {import("../wire.js").TrialView} TrialView
 * @typedef {import("../wire.js").TrialMatchView} TrialMatchView
 */

/** Without a message for this long, live updates are taken to be held up on the way: poll instead. */
const SILENCE_MS = 25_000;
/** The first message must come this soon, or a proxy buffers the stream. */
const FIRST_MESSAGE_MS = 6_000;
const POLL_MS = 2_000;
const TESTER_DELAY_MS = 300;
const TESTER_REFRESH_MS = 3_000;

const STATE_LABELS = {
  counted: "counts",
  stale: "stale",
  offline: "offline",
  unusable: "unusable",
  out_of_range: "out of range",
  no_value: "no value",
  unavailable: "unavailable",
};

/** @type {{
 *   rules: readonly RuleView[],
 *   entities: Map<string, EntityView>,
 *   inspected: Map<string, EntityView | undefined>,
 *   cards: Map<string, HTMLElement>,
 *   lists: Map<string, HTMLElement>,
 *   offset: number,
 *   seq: number,
 *   filter: string,
 * }} */
const page = {
  rules: [],
  entities: new Map(),
  // Entities whose every source is shown (from an inspection), by key.
  inspected: new Map(),
  cards: new Map(),
  lists: new Map(),
  // The add-on's monotonic clock minus the browser's, so that ages tick without messages.
  offset: 0,
  seq: 0,
  filter: "",
};

/**
 * @param {string} id
 * @returns {HTMLElement}
 */
function byId(id) {
  const found = document.getElementById(id);
  if (found === null) throw new Error(`#${id} is missing from the page`);
  return found;
}

/**
 * An element with text and children, never markup.
 * @param {string} tag
 * @param {{ className?: string, text?: string, title?: string, data?: Record<string, string> }} [props]
 * @param {(Node | string | undefined)[]} [children]
 * @returns {HTMLElement}
 */
function el(tag, props = {}, children = []) {
  const element = document.createElement(tag);
  if (props.className !== undefined) element.className = props.className;
  if (props.text !== undefined) element.textContent = props.text;
  if (props.title !== undefined) element.title = props.title;
  for (const [name, value] of Object.entries(props.data ?? {})) element.dataset[name] = value;
  for (const child of children) {
    if (child === undefined) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

function serverNow() {
  return performance.now() + page.offset;
}

/** @param {number} now */
function setClock(now) {
  page.offset = now - performance.now();
}

/** @param {number} ms */
function formatAge(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

/** An element whose text is the age of `at`, kept up to date by the clock below. */
function ageOf(/** @type {number} */ at, prefix = "", suffix = "") {
  const node = el("span", { className: "age", data: { at: String(at), prefix, suffix } });
  node.textContent = `${prefix}${formatAge(serverNow() - at)}${suffix}`;
  return node;
}

function tickAges() {
  const now = serverNow();
  for (const node of document.querySelectorAll("[data-at]")) {
    if (!(node instanceof HTMLElement)) continue;
    const { at, prefix = "", suffix = "" } = node.dataset;
    node.textContent = `${prefix}${formatAge(now - Number(at))}${suffix}`;
  }
}

// ---- rules and entities ----

function renderAll() {
  const root = byId("rules");
  root.replaceChildren();
  sight.disconnect();
  onScreen.clear();
  page.cards.clear();
  page.lists.clear();
  if (page.rules.length === 0) {
    root.append(
      el("p", { className: "muted", text: "No rules are configured: add some in the Configuration tab." }),
    );
    return;
  }
  for (const rule of page.rules) root.append(ruleCard(rule));
  for (const entity of page.entities.values()) placeEntity(entity);
  for (const rule of page.rules) showPlaceholder(rule.key);
  applyFilter();
}

/** @param {RuleView} rule */
function ruleCard(rule) {
  const facts = [
    rule.formula === undefined ? `${rule.function} of ${rule.topics.join(", ")}` : `formula ${rule.formula}`,
    rule.formula !== undefined
      ? undefined
      : rule.valuePath === undefined
        ? "the payload itself"
        : `value_path ${rule.valuePath}`,
    rule.unit === undefined ? undefined : `in ${rule.unit}`,
    `read every ${formatAge(rule.intervalSeconds * 1000)}`,
    rule.formula !== undefined
      ? undefined
      : rule.maxAgeSeconds === undefined
        ? "holds each source's last state until its device is offline"
        : `counts readings up to ${formatAge(rule.maxAgeSeconds * 1000)} old`,
    rule.minInputs > 1 ? `needs ${rule.minInputs} inputs` : undefined,
  ].filter((fact) => fact !== undefined);
  const list = el("div", { className: "entities" });
  page.lists.set(rule.key, list);
  return el("section", { className: "rule", data: { rule: rule.key, search: searchText(rule) } }, [
    el("h2", { text: rule.name }),
    el("p", { className: "rule-facts", text: facts.join(" · ") }),
    list,
  ]);
}

/** @param {RuleView} rule */
function searchText(rule) {
  return [rule.name, rule.key, ...rule.topics, rule.formula ?? ""].join("\n").toLowerCase();
}

/** @param {string} ruleKey */
function showPlaceholder(ruleKey) {
  const list = page.lists.get(ruleKey);
  const rule = page.rules.find((each) => each.key === ruleKey);
  if (list === undefined || rule === undefined) return;
  const hasEntity = list.querySelector(".entity") !== null;
  const placeholder = list.querySelector(".placeholder");
  if (hasEntity) placeholder?.remove();
  else if (placeholder === null)
    list.append(
      el("p", {
        className: "placeholder muted",
        text: rule.fansOut
          ? "No entity yet: one appears for each value of its named wildcard once that value has a usable reading."
          : "Waiting for the first read.",
      }),
    );
}

/**
 * Cards on screen (or nearly). A card out of sight is not rebuilt when its entity changes, only
 * marked, and rebuilt when it comes into sight: with hundreds of entities read every second, the
 * page does the work of the few a person is looking at.
 */
const onScreen = new Set(/** @type {string[]} */ ([]));
const sight = new IntersectionObserver(
  (entries) => {
    for (const entry of entries) {
      if (!(entry.target instanceof HTMLElement)) continue;
      const key = entry.target.dataset["key"] ?? "";
      if (!entry.isIntersecting) {
        onScreen.delete(key);
        continue;
      }
      onScreen.add(key);
      if (entry.target.dataset["stale"] === "true") refreshCard(key);
    }
  },
  { rootMargin: "300px 0px" },
);

/** @param {string} key */
function refreshCard(key) {
  const entity = page.entities.get(key);
  if (entity !== undefined) placeEntity(entity, true);
  if (page.filter !== "") applyFilter();
}

/** Puts an entity's card in its rule, in order of name; replaces the card it had. */
function placeEntity(/** @type {EntityView} */ entity, force = false) {
  const list = page.lists.get(entity.rule);
  if (list === undefined) return;
  const old = page.cards.get(entity.key);
  const existing = old !== undefined && old.parentElement === list;
  if (existing && !force && (document.hidden || !onScreen.has(entity.key))) {
    old.dataset["stale"] = "true";
    return;
  }
  const card = entityCard(entity, page.inspected.get(entity.key));
  page.cards.set(entity.key, card);
  sight.observe(card);
  if (existing) {
    sight.unobserve(old);
    old.replaceWith(card);
    return;
  }
  const after = [...list.querySelectorAll(".entity")].find(
    (other) => other instanceof HTMLElement && (other.dataset["name"] ?? "") > entity.name,
  );
  list.insertBefore(card, after ?? null);
  showPlaceholder(entity.rule);
}

/**
 * @param {EntityView} entity
 * @param {EntityView | undefined} inspected every source as of now, when asked for
 */
function entityCard(entity, inspected) {
  const available = entity.state !== undefined;
  const shown = inspected ?? entity;
  const rule = page.rules.find((each) => each.key === entity.rule);
  // A rule without named wildcards has one entity, of the rule's name: said once.
  const head = el("div", { className: "entity-head" }, [
    rule?.fansOut === false ? undefined : el("h3", { text: entity.name }),
    el("span", {
      className: available ? "badge ok" : "badge bad",
      text: available ? "available" : "unavailable",
    }),
  ]);
  const state = el("p", { className: available ? "state" : "state none" }, [
    available ? `${entity.state ?? ""}${entity.unit === undefined ? "" : ` ${entity.unit}`}` : "—",
  ]);
  const counts = Object.entries(entity.counts)
    .filter(([name, count]) => count > 0 && name !== "no_value" && name !== "counted")
    .map(([name, count]) => `${count} ${STATE_LABELS[/** @type {keyof typeof STATE_LABELS} */ (name)]}`);
  const summary = el("p", { className: "summary muted" }, [
    `${entity.inputs} input${entity.inputs === 1 ? "" : "s"}`,
    counts.length === 0 ? "" : ` · ${counts.join(", ")}`,
    entity.leftOut > 0 ? `, ${entity.leftOut} left out over the limits` : "",
    " · ",
    ageOf(entity.readAt, "computed ", " ago"),
  ]);
  const card = el("article", { className: "entity", data: { key: entity.key, name: entity.name } }, [
    head,
    state,
    available
      ? undefined
      : el("p", { className: "why", text: `Unavailable: ${entity.unavailableBecause ?? ""}` }),
    summary,
    sourcesTable(shown.sources),
  ]);
  const button = el("button", { className: "link", text: "" });
  button.setAttribute("type", "button");
  if (inspected !== undefined) {
    button.textContent = "Show the sources as published";
    card.append(
      el("p", { className: "more" }, [
        el("span", {
          className: "muted",
          text: "Every source as a read would find it now, those with no value at the path too. ",
        }),
        button,
      ]),
    );
    button.addEventListener("click", () => {
      page.inspected.delete(entity.key);
      placeEntity(entity);
      applyFilter();
    });
  } else {
    const hidden = entity.counts.no_value;
    button.textContent = `Show every source now${hidden > 0 ? ` (${hidden} more with no value at the path)` : ""}`;
    card.append(el("p", { className: "more" }, [button]));
    button.addEventListener("click", () => void inspect(entity.key));
  }
  return card;
}

/** @param {readonly SourceView[]} sources */
function sourcesTable(sources) {
  if (sources.length === 0) return el("p", { className: "muted", text: "No sources." });
  const body = el("tbody");
  for (const source of sources) body.append(sourceRow(source));
  return el("table", { className: "sources" }, [
    el("thead", {}, [
      el("tr", {}, [
        el("th", { text: "Source" }),
        el("th", { text: "Value" }),
        el("th", { text: "Received" }),
        el("th", { text: "Counts?" }),
        el("th", { text: "" }),
      ]),
    ]),
    body,
  ]);
}

/** @param {SourceView} source */
function sourceRow(source) {
  const payload = el("button", { className: "link", text: "payload" });
  payload.setAttribute("type", "button");
  payload.addEventListener("click", () => void showPayload(source.topic));
  const status = el("td", { className: "status" }, [
    el("span", { className: `pill s-${source.state}`, text: STATE_LABELS[source.state] }),
  ]);
  if (source.reason !== undefined && source.state !== "stale")
    status.append(el("span", { className: "reason", text: source.reason }));
  return el("tr", { className: `source s-${source.state}`, data: { topic: source.topic.toLowerCase() } }, [
    el("td", { className: "topic" }, [el("code", { text: source.source })]),
    el("td", { className: "value", text: source.value ?? "—" }),
    el("td", { className: "age-cell" }, [ageOf(source.receivedAt, "", " ago")]),
    status,
    el("td", { className: "actions" }, [payload]),
  ]);
}

/** @param {string} key */
async function inspect(key) {
  const inspection = /** @type {Inspection} */ (await getJson(`api/entity?key=${encodeURIComponent(key)}`));
  setClock(inspection.now);
  const entity = page.entities.get(key);
  if (inspection.entity === undefined || entity === undefined) return;
  page.inspected.set(key, inspection.entity);
  placeEntity(entity);
  applyFilter();
}

/** @param {Snapshot} snapshot */
function takeSnapshot(snapshot) {
  setClock(snapshot.now);
  page.seq = snapshot.seq;
  page.rules = snapshot.rules;
  page.entities = new Map(snapshot.entities.map((entity) => [entity.key, entity]));
  renderAll();
  for (const key of page.inspected.keys()) void inspect(key);
}

/** @param {Update} update */
function takeUpdate(update) {
  setClock(update.now);
  page.seq = update.seq;
  for (const entity of update.entities) {
    page.entities.set(entity.key, entity);
    placeEntity(entity);
    // An entity whose every source is shown is looked at again: it was just read.
    if (page.inspected.has(entity.key)) void inspect(entity.key);
  }
  for (const key of update.removed) {
    page.entities.delete(key);
    page.inspected.delete(key);
    const card = page.cards.get(key);
    page.cards.delete(key);
    onScreen.delete(key);
    if (card !== undefined) sight.unobserve(card);
    const rule = card?.closest(".rule");
    card?.remove();
    if (rule instanceof HTMLElement) showPlaceholder(rule.dataset["rule"] ?? "");
  }
  // Without a filter every card is shown as it is made; with one, the new cards are filtered too.
  if (page.filter !== "") applyFilter();
}

// ---- the filter ----

function applyFilter() {
  const text = page.filter;
  let shownEntities = 0;
  for (const rule of document.querySelectorAll("#rules .rule")) {
    if (!(rule instanceof HTMLElement)) continue;
    const ruleMatches = text === "" || (rule.dataset["search"] ?? "").includes(text);
    let anyEntity = false;
    for (const card of rule.querySelectorAll(".entity")) {
      if (!(card instanceof HTMLElement)) continue;
      const entityMatches = ruleMatches || (card.dataset["name"] ?? "").toLowerCase().includes(text);
      let anyRow = false;
      for (const row of card.querySelectorAll("tr.source")) {
        if (!(row instanceof HTMLElement)) continue;
        const rowMatches = entityMatches || (row.dataset["topic"] ?? "").includes(text);
        row.hidden = !rowMatches;
        anyRow ||= rowMatches;
      }
      card.hidden = !(entityMatches || anyRow);
      if (!card.hidden) {
        anyEntity = true;
        shownEntities += 1;
      }
    }
    rule.hidden = !(ruleMatches || anyEntity);
  }
  byId("filter-summary").textContent =
    text === "" ? "" : `${shownEntities} entit${shownEntities === 1 ? "y" : "ies"} shown`;
}

// ---- the raw payload ----

/** @param {string} topic */
async function showPayload(topic) {
  const dialog = /** @type {HTMLDialogElement} */ (byId("payload-dialog"));
  byId("payload-topic").textContent = topic;
  byId("payload-text").textContent = "…";
  byId("payload-note").textContent = "";
  if (!dialog.open) dialog.showModal();
  const view = /** @type {PayloadView} */ (await getJson(`api/payload?topic=${encodeURIComponent(topic)}`));
  byId("payload-text").textContent = view.payload ?? "";
  byId("payload-note").textContent =
    view.payload === undefined
      ? "The add-on keeps no payload of this topic now (it went stale, or it was too large)."
      : view.shortened
        ? `The first ${view.payload.length} characters of ${view.bytes} bytes.`
        : `${view.bytes} bytes.`;
}

// ---- the rule tester ----

let testerTimer = /** @type {ReturnType<typeof setTimeout> | undefined} */ (undefined);
let testerAsked = 0;

function scheduleTrial(delay = TESTER_DELAY_MS) {
  clearTimeout(testerTimer);
  testerTimer = setTimeout(() => void runTrial(), delay);
}

async function runTrial() {
  const tester = /** @type {HTMLDetailsElement} */ (byId("tester"));
  const form = /** @type {HTMLFormElement} */ (byId("tester-form"));
  const data = new FormData(form);
  const topic = String(data.get("topic") ?? "").trim();
  if (!tester.open || document.hidden) return;
  if (topic === "") {
    byId("tester-status").textContent = "Type a topic filter.";
    byId("tester-results").replaceChildren();
    return;
  }
  const query = new URLSearchParams({
    topic,
    value_path: String(data.get("value_path") ?? ""),
    unit: String(data.get("unit") ?? ""),
  });
  const asked = ++testerAsked;
  const trial = /** @type {TrialView} */ (await getJson(`api/tester?${query.toString()}`));
  if (asked !== testerAsked) return;
  setClock(trial.now);
  renderTrial(trial);
  // While the tester is open the add-on keeps sampling, and new topics show up here.
  scheduleTrial(TESTER_REFRESH_MS);
}

/** @param {TrialView} trial */
function renderTrial(trial) {
  const status = byId("tester-status");
  const results = byId("tester-results");
  const sampling = trial.sampling;
  const sampled =
    sampling.problem !== undefined
      ? `Sampling the broker does not work: ${sampling.problem}.`
      : `${sampling.topics} topic${sampling.topics === 1 ? "" : "s"} seen on the broker${sampling.active ? "" : " (connecting…)"}.`;
  if (!trial.ok) {
    status.textContent = `${trial.field}: ${trial.problem}. ${sampled}`;
    status.classList.add("problem");
    results.replaceChildren();
    return;
  }
  status.classList.remove("problem");
  status.textContent = `${trial.matched} matching topic${trial.matched === 1 ? "" : "s"}, ${trial.withReadings} with a value. ${sampled}`;
  if (trial.matches.length === 0) {
    results.replaceChildren();
    return;
  }
  const body = el("tbody");
  for (const match of trial.matches) body.append(trialRow(match));
  results.replaceChildren(
    el("table", { className: "sources trial" }, [
      el("thead", {}, [
        el("tr", {}, [
          el("th", { text: "Topic" }),
          el("th", { text: "Would read" }),
          el("th", { text: "Received" }),
          el("th", { text: "" }),
        ]),
      ]),
      body,
    ]),
  );
}

/** @param {TrialMatchView} match */
function trialRow(match) {
  const captures = Object.entries(match.captures).map(([name, value]) => `${name} = ${value}`);
  const read = el("td", { className: "value" });
  if (match.skipped !== undefined) read.append(el("span", { className: "reason", text: match.skipped }));
  else if (match.readings.length === 0)
    read.append(el("span", { className: "reason", text: "no value at the path" }));
  for (const reading of match.readings) {
    const label = reading.source === match.topic ? "" : `${reading.source.slice(match.topic.length + 1)}: `;
    const text =
      reading.kind === "unusable"
        ? `${label}unusable: ${reading.why ?? ""}`
        : `${label}${reading.value ?? ""}${reading.unit === undefined ? "" : ` ${reading.unit}`}${reading.why === undefined ? "" : ` (${reading.why})`}`;
    read.append(el("div", { className: reading.kind === "unusable" ? "reading bad" : "reading", text }));
  }
  if (match.leftOut > 0)
    read.append(el("div", { className: "muted", text: `${match.leftOut} more left out` }));
  const payload = el("button", { className: "link", text: "payload" });
  payload.setAttribute("type", "button");
  payload.addEventListener("click", () => void showPayload(match.topic));
  return el("tr", { className: "match" }, [
    el("td", { className: "topic" }, [
      el("code", { text: match.topic }),
      captures.length === 0 ? undefined : el("div", { className: "muted", text: captures.join(", ") }),
    ]),
    read,
    el("td", { className: "age-cell" }, [ageOf(match.receivedAt, "", " ago")]),
    el("td", { className: "actions" }, [payload]),
  ]);
}

// ---- talking to the add-on ----

/** @param {string} url */
async function getJson(url) {
  const response = await fetch(url, { cache: "no-store" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return /** @type {unknown} */ (await response.json());
}

/** @param {string} text @param {"live" | "waiting" | "polling"} kind */
function setConnection(text, kind) {
  const node = byId("connection");
  node.textContent = text;
  node.className = `connection ${kind}`;
}

function listen() {
  const source = new EventSource("api/events");
  let watchdog = setTimeout(() => fallBack(source), FIRST_MESSAGE_MS);
  const heard = () => {
    clearTimeout(watchdog);
    watchdog = setTimeout(() => fallBack(source), SILENCE_MS);
    setConnection("Live", "live");
  };
  source.addEventListener("snapshot", (event) => {
    heard();
    takeSnapshot(/** @type {Snapshot} */ (JSON.parse(/** @type {MessageEvent<string>} */ (event).data)));
  });
  source.addEventListener("update", (event) => {
    heard();
    takeUpdate(/** @type {Update} */ (JSON.parse(/** @type {MessageEvent<string>} */ (event).data)));
  });
  source.addEventListener("tick", (event) => {
    heard();
    setClock(
      /** @type {{ now: number }} */ (JSON.parse(/** @type {MessageEvent<string>} */ (event).data)).now,
    );
  });
  source.addEventListener("error", () => setConnection("Reconnecting…", "waiting"));
}

/** Live updates do not get through (a proxy that buffers them): ask every few seconds instead. */
function fallBack(/** @type {EventSource} */ source) {
  source.close();
  setConnection(`Updating every ${POLL_MS / 1000} s`, "polling");
  const poll = async () => {
    try {
      if (!document.hidden) {
        const update = /** @type {Update | { reload: true }} */ (
          await getJson(`api/updates?after=${page.seq}`)
        );
        if ("reload" in update) takeSnapshot(/** @type {Snapshot} */ (await getJson("api/snapshot")));
        else takeUpdate(update);
        setConnection(`Updating every ${POLL_MS / 1000} s`, "polling");
      }
    } catch {
      setConnection("Cannot reach the add-on; retrying", "waiting");
    }
    setTimeout(() => void poll(), POLL_MS);
  };
  void getJson("api/snapshot")
    .then((snapshot) => takeSnapshot(/** @type {Snapshot} */ (snapshot)))
    .catch(() => undefined)
    .finally(() => setTimeout(() => void poll(), POLL_MS));
}

function start() {
  const filter = /** @type {HTMLInputElement} */ (byId("filter"));
  filter.addEventListener("input", () => {
    page.filter = filter.value.trim().toLowerCase();
    applyFilter();
  });
  const tester = /** @type {HTMLDetailsElement} */ (byId("tester"));
  const form = /** @type {HTMLFormElement} */ (byId("tester-form"));
  form.addEventListener("submit", (event) => event.preventDefault());
  form.addEventListener("input", () => scheduleTrial());
  tester.addEventListener("toggle", () => {
    if (tester.open) scheduleTrial(0);
    else clearTimeout(testerTimer);
  });
  byId("payload-close").addEventListener("click", () =>
    /** @type {HTMLDialogElement} */ (byId("payload-dialog")).close(),
  );
  // Back to a tab left in the background: what changed meanwhile, where it is in sight.
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) return;
    for (const key of onScreen) if (page.cards.get(key)?.dataset["stale"] === "true") refreshCard(key);
  });
  setInterval(tickAges, 1_000);
  listen();
}

start();
