import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

/** Static properties of the image (scripts/verify-docker-steps.mjs replays its steps in CI). */

const read = (p: string) => readFileSync(fileURLToPath(new URL(`../../${p}`, import.meta.url)), "utf8");
const dockerfile = read("Dockerfile");
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"));
const stages = instructions.reduce<string[][]>((acc, l) => {
  if (/^FROM\s/i.test(l)) acc.push([l]);
  else acc.at(-1)?.push(l);
  return acc;
}, []);
const runtime = stages.at(-1)!;

describe("Dockerfile", () => {
  test("multi-stage on a Node LTS slim base, pinned by version and digest", () => {
    assert.ok(stages.length >= 2);
    for (const s of stages) assert.match(s[0]!, /^FROM \$\{NODE_IMAGE\} AS \w+$/);
    const image = /^ARG NODE_IMAGE=(\S+)$/m.exec(dockerfile)?.[1] ?? "";
    const m = /^node:(\d+)\.\d+\.\d+-bookworm-slim@sha256:[0-9a-f]{64}$/.exec(image);
    assert.ok(m, `NODE_IMAGE ${image} names an exact node version, a slim Debian tag and a digest`);
    const version = Number(m[1]);
    assert.ok(version >= 22 && version % 2 === 0, `Node ${version} is an LTS line`);
  });

  test("CI tests the Node version the image ships", () => {
    const image = /^ARG NODE_IMAGE=node:(\d+\.\d+\.\d+)-/m.exec(dockerfile)?.[1];
    const ci = /^NODE24_VERSION=(\S+)$/m.exec(read(".ci/run"))?.[1];
    assert.ok(image && ci);
    assert.equal(ci, image, ".ci/run NODE24_VERSION matches the Dockerfile's NODE_IMAGE");
  });

  test("OCI labels: title, description, licence and version from package.json, base image", () => {
    const pkg = JSON.parse(read("package.json")) as { name: string; version: string; license: string };
    const labels = Object.fromEntries(
      runtime
        .filter((l) => l.startsWith("LABEL"))
        .flatMap((l) => [...l.matchAll(/(org\.opencontainers\.image\.[\w.]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!])),
    );
    assert.equal(labels["org.opencontainers.image.title"], pkg.name);
    assert.ok(labels["org.opencontainers.image.description"]);
    assert.equal(labels["org.opencontainers.image.licenses"], pkg.license);
    assert.equal(labels["org.opencontainers.image.version"], pkg.version);
    assert.equal(labels["org.opencontainers.image.base.name"], "${NODE_IMAGE}");
    assert.ok(runtime.includes("ARG NODE_IMAGE"), "the runtime stage re-declares NODE_IMAGE so the label can use it");
  });

  test("build stage: npm ci from the lockfile, build, prune to production dependencies", () => {
    const build = stages[0]!.join("\n");
    assert.match(build, /COPY package\.json package-lock\.json/);
    assert.match(build, /RUN .*npm ci\b/);
    assert.match(build, /RUN npm run build/);
    assert.match(build, /RUN npm prune --omit=dev/);
  });

  test("runtime stage: only build output, non-root user, healthcheck with node on /healthz", () => {
    for (const copy of runtime.filter((l) => l.startsWith("COPY"))) assert.match(copy, /--from=build/);
    const user = runtime.filter((l) => l.startsWith("USER")).at(-1);
    assert.ok(user && !/USER\s+(root|0)\b/.test(user), "runs as a non-root user");
    const hc = runtime.find((l) => l.startsWith("HEALTHCHECK"));
    assert.ok(hc, "HEALTHCHECK");
    assert.match(hc, /CMD \["node", "-e", .*\/healthz/);
    assert.doesNotMatch(hc, /curl|wget/, "slim images have neither");
  });

  test("signals reach node: exec-form ENTRYPOINT through tini, no shell or npm in between", () => {
    const entry = runtime.find((l) => l.startsWith("ENTRYPOINT"))!;
    const argv = JSON.parse(entry.slice("ENTRYPOINT".length)) as string[];
    assert.deepEqual(argv.slice(0, 3), ["/usr/bin/tini", "--", "node"]);
    assert.match(runtime.join("\n"), /apt-get install -y --no-install-recommends tini/);
    assert.match(runtime.join("\n"), /STOPSIGNAL SIGTERM/);
  });

  test(".dockerignore keeps secrets, state and local builds out of the build context", () => {
    const ignore = read(".dockerignore")
      .split("\n")
      .map((l) => l.trim());
    for (const p of [".git", "node_modules", ".cache", "dist", "data", ".env", ".env.*", "*.tfstate", ".terraform"]) {
      assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
    }
  });
});
