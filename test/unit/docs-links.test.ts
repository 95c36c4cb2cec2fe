import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Markdown text with fenced code blocks and inline code blanked out, so their contents are neither links nor headings. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "``");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered -1, -2... */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  const withoutFences = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "");
  for (const m of withoutFences.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1]!
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Every relative link of a Markdown file that does not resolve to a file (or to a heading in it). */
export function brokenLinks(
  file: string,
  markdown: string,
  exists: (path: string) => boolean = existsSync,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): string[] {
  const broken: string[] = [];
  for (const m of prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    const link = m[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue; // https:, mailto:
    const [path = "", anchor] = link.split("#", 2);
    const target = path === "" ? file : join(dirname(file), decodeURIComponent(path));
    if (!exists(target)) {
      broken.push(`${link}: no such file`);
      continue;
    }
    if (anchor !== undefined) {
      if (!target.endsWith(".md")) broken.push(`${link}: anchor into a file that is not Markdown`);
      else if (!anchorsOf(path === "" ? markdown : read(target)).has(decodeURIComponent(anchor)))
        broken.push(`${link}: no heading with anchor #${anchor}`);
    }
  }
  return broken;
}

function documents(): string[] {
  const docs = join(ROOT, "docs");
  return [
    join(ROOT, "README.md"),
    ...readdirSync(docs)
      .filter((f) => f.endsWith(".md") && statSync(join(docs, f)).isFile())
      .map((f) => join(docs, f)),
  ];
}

describe("documentation links", () => {
  test("every relative link in README.md and docs/*.md points to an existing file and heading", () => {
    const problems = documents().flatMap((f) =>
      brokenLinks(f, readFileSync(f, "utf8")).map((p) => `${relative(ROOT, f)}: ${p}`),
    );
    assert.deepEqual(problems, []);
  });

  test("the README links to every document in docs/", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const unlinked = documents()
      .slice(1)
      .map((f) => relative(ROOT, f))
      .filter((f) => !readme.includes(`](${f})`));
    assert.deepEqual(unlinked, []);
  });

  test("no document cites files users do not have", () => {
    for (const f of [...documents(), join(ROOT, "bench", "README.md")]) {
      const text = readFileSync(f, "utf8");
      assert.doesNotMatch(text, /\.\.\/shared|DESIGN\.md|reference §/, relative(ROOT, f));
    }
  });

  test("the checker finds a missing file, a missing heading, and ignores code and external links", () => {
    const file = join(ROOT, "docs", "example.md");
    const md = [
      "# Title",
      "## Failure behaviour",
      "[ok](#failure-behaviour) [ok](../README.md) [web](https://example.com/x.md) `[code](nowhere.md)`",
      "```",
      "[code](nowhere.md)",
      "```",
      "[gone](missing.md) [bad anchor](#no-such-heading) [bad remote anchor](../README.md#no-such-heading)",
    ].join("\n");
    assert.deepEqual(
      brokenLinks(file, md, (p) => p === file || existsSync(p)),
      [
        "missing.md: no such file",
        "#no-such-heading: no heading with anchor #no-such-heading",
        "../README.md#no-such-heading: no heading with anchor #no-such-heading",
      ],
    );
  });

  test("anchors follow GitHub's rules", () => {
    assert.deepEqual(
      [...anchorsOf("# Windows, ties and the 1,500-record cap\n## What `doctor` checks\n## Metrics\n### Metrics")],
      ["windows-ties-and-the-1500-record-cap", "what-doctor-checks", "metrics", "metrics-1"],
    );
  });
});
