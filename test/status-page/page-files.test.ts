import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadPageFiles } from "../../src/status-page/status-server.js";
import { assertBuilt } from "../support/program.js";

const source = new URL("../../src/status-page/page/", import.meta.url);
const built = new URL("../../dist/status-page/page/", import.meta.url);
const text = (name: string) => readFileSync(new URL(name, source), "utf8");

describe("the status page's files", () => {
  it("are in the build, as in the sources: the add-on's image ships dist/ only", async () => {
    assertBuilt();
    const fromSource = await loadPageFiles(source);
    const fromBuild = await loadPageFiles(built);
    expect([...fromBuild.keys()]).toEqual(["/", "/status.js", "/status.css"]);
    for (const [path, file] of fromSource)
      expect(fromBuild.get(path)?.body.equals(file.body), path).toBe(true);
  });

  it("use relative URLs only, so that they work under Home Assistant's ingress path", () => {
    const html = text("index.html");
    const urls = [...html.matchAll(/\b(?:href|src|action)="([^"]*)"/g)].map((match) => match[1]);
    expect(urls).toEqual(["status.css", "status.js", "#tester"]);
    const script = text("status.js");
    const fetched = [...script.matchAll(/(?:getJson|EventSource)\(\s*[`"]([^`"$]*)/g)].map(
      (match) => match[1],
    );
    expect(fetched.length).toBeGreaterThan(0);
    for (const url of fetched) expect(url, "a URL in status.js").toMatch(/^api\//);
    expect(script).not.toMatch(/["'`]\/(?:api|status)/);
  });

  it("hold no inline script or style, and never put text into the page as markup", () => {
    const html = text("index.html");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    const script = text("status.js");
    expect(script).not.toMatch(
      /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function/,
    );
  });
});
