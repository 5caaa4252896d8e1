/**
 * The documents point at each other (the README at docs/, docs/ back at the README and at each
 * other, LEIAME.md both ways): every relative link must reach a file that exists and, when it
 * names an anchor, a heading of that file, as GitHub turns headings into anchors.
 */
import { expect, test } from "bun:test";
import { existsSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { ROOT } from "../helpers.ts";

const files = ["README.md", "LEIAME.md"];
for await (const file of new Bun.Glob("docs/**/*.md").scan(ROOT)) files.push(file);

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
function anchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, "")
    .replace(/ /g, "-");
}

/** The anchors a Markdown file offers: its headings (a repeated one gets -1, -2...). */
function anchors(text: string): Set<string> {
  const found = new Set<string>();
  const seen = new Map<string, number>();
  const outsideCode = text.replace(/^```[\s\S]*?^```/gm, "");
  for (const m of outsideCode.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = anchor(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    found.add(n === 0 ? base : `${base}-${n}`);
  }
  return found;
}

/** Every relative link of a Markdown file, outside code blocks and code spans. */
function links(text: string): string[] {
  const prose = text.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((target) => !/^[a-z]+:/i.test(target));
}

test("every relative link in README.md, LEIAME.md and docs/ reaches a file and its anchor", async () => {
  expect(files).toContain("docs/options.md");
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    const text = await Bun.file(join(ROOT, file)).text();
    for (const target of links(text)) {
      checked++;
      const [path, hash] = target.split("#") as [string, string | undefined];
      const full = path === "" ? join(ROOT, file) : join(ROOT, dirname(file), path);
      if (!existsSync(full)) {
        broken.push(`${file}: ${target} (no file ${relative(ROOT, full)})`);
        continue;
      }
      if (hash === undefined || statSync(full).isDirectory() || !full.endsWith(".md")) continue;
      if (!anchors(await Bun.file(full).text()).has(decodeURIComponent(hash))) {
        broken.push(`${file}: ${target} (no heading #${hash} in ${relative(ROOT, full)})`);
      }
    }
  }
  expect(broken).toEqual([]);
  expect(checked).toBeGreaterThan(20);
});

test("README.md and LEIAME.md name each other in their first lines", async () => {
  const readme = await Bun.file(join(ROOT, "README.md")).text();
  const leiame = await Bun.file(join(ROOT, "LEIAME.md")).text();
  expect(readme.split("\n").slice(0, 5).join("\n")).toContain("(LEIAME.md)");
  expect(leiame.split("\n").slice(0, 5).join("\n")).toContain("(README.md)");
});
