/**
 * Renders docs/img/cloudwatch-dashboard.png and docs/img/grafana-dashboard.png from a real run: the built CLI
 * (`serve`, Firehose sink) against the repo's local Firehose stub and fake Wootric API, driven through a scripted
 * day in ~100 s (normal traffic, a burst with a wrong webhook secret, a Firehose outage that blocks the producer and
 * fills the spool, recovery). The CloudWatch picture plots the EMF lines the service printed (EMF_INTERVAL_SECONDS=1,
 * so one point per second instead of per minute) in the layout of terraform/dashboard.tf; the Grafana picture plots
 * the panels of docs/grafana-dashboard.json from /metrics scraped every second (rates over 5 s). AWS/Firehose
 * widgets have no data outside AWS and say so. Needs `npm run build` and Chromium (`apt-get install chromium`).
 *
 *   npx tsx scripts/render-dashboards.ts
 */
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { startServe } from "../test/helpers/cli.js";
import { FakeWootric } from "../test/helpers/fake-wootric.js";
import { startFirehoseStub, stubEnv } from "../test/helpers/firehose-stub.js";
import { postWebhook, responseWebhook } from "../test/helpers/webhook.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SECRET = "render-secret-0123456789";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Series = { label: string; points: [number, number][] };

async function run(): Promise<{ emf: Record<string, unknown>[]; scrapes: { t: number; text: string }[] }> {
  const work = await mkdtemp(join(tmpdir(), "wf-render-"));
  const stub = await startFirehoseStub({ streamName: "render-stream", keepData: false });
  const fake = await new FakeWootric().start();
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 400; i++) fake.addResponse(now - 3 * 86_400 + i * 300);
  for (let i = 0; i < 60; i++) fake.addEndUser(now - 86_400 + i * 60);
  const cli = await startServe({
    ...stubEnv(stub),
    ...fake.env(),
    FIREHOSE_STREAM_NAME: "render-stream",
    DATA_DIR: work,
    SPOOL_DIR: join(work, "spool"),
    STATE_URL: join(work, "state"),
    WOOTRIC_WEBHOOK_SECRET: SECRET,
    EMF_METRICS: "true",
    EMF_INTERVAL_SECONDS: "1",
    EMF_SERVICE_NAME: "wootric-firehose",
    SYNC_SETTLE_SECONDS: "0",
    LOG_LEVEL: "error",
  });
  const start = Date.now();
  const scrapes: { t: number; text: string }[] = [];
  let id = 1;
  for (let second = 0; second < 100; second++) {
    if (second === 30) stub.setMode({ kind: "not_found" }); // the stream disappears: producer blocked
    if (second === 65) stub.setMode({ kind: "ok" });
    const rate = 5 + Math.round(4 * Math.sin(second / 8) + 4);
    for (let i = 0; i < rate; i++) {
      const wrong = second >= 15 && second < 25 && i % 2 === 0; // someone rotated the secret in Wootric only
      await postWebhook(cli.baseUrl, responseWebhook(id++), { secret: wrong ? "old-secret" : SECRET });
    }
    if (second % 20 === 10) {
      // a signed body that is not a Wootric record: kept as a dead letter
      await postWebhook(cli.baseUrl, '{"response": "not an object"}', { secret: SECRET });
    }
    scrapes.push({ t: (Date.now() - start) / 1000, text: await (await fetch(`${cli.baseUrl}/metrics`)).text() });
    await sleep(Math.max(0, start + (second + 1) * 1000 - Date.now()));
  }
  await cli.stop("SIGTERM");
  const emf = cli
    .output()
    .split("\n")
    .filter((l) => l.startsWith('{"_aws"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  await stub.close();
  await fake.stop();
  await rm(work, { recursive: true, force: true });
  return { emf, scrapes };
}

function svgChart(series: Series[], width: number, height: number, unit = ""): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0)
    return `<svg width="${width}" height="${height}"><text x="${width / 2}" y="${height / 2}" text-anchor="middle" fill="#888">no data</text></svg>`;
  // one time axis for every chart: the run's 100 s
  const x0 = 0;
  const x1 = 100;
  const yMax = Math.max(1, ...all.map((p) => p[1])) * 1.1;
  const pad = { l: 46, r: 8, t: 8, b: 20 };
  const sx = (x: number) => pad.l + ((x - x0) / (x1 - x0)) * (width - pad.l - pad.r);
  const sy = (y: number) => height - pad.b - (y / yMax) * (height - pad.t - pad.b);
  const colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2"];
  const grid = [0, 0.5, 1]
    .map((f) => {
      const y = sy(yMax * f);
      const v = yMax * f;
      return `<line x1="${pad.l}" x2="${width - pad.r}" y1="${y}" y2="${y}" stroke="#eee"/><text x="${pad.l - 4}" y="${y + 4}" text-anchor="end" font-size="10" fill="#666">${v >= 100 ? Math.round(v) : v.toFixed(1)}${unit}</text>`;
    })
    .join("");
  const lines = series
    .map((s, i) => {
      const d = s.points.map(([x, y], j) => `${j ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(" ");
      return `<path d="${d}" fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.6"/>`;
    })
    .join("");
  const legend = series
    .map(
      (s, i) =>
        `<span style="color:${colors[i % colors.length]}">&#9632;</span> ${s.label.replace(/</g, "&lt;")}&nbsp;&nbsp;`,
    )
    .join("");
  return `<svg width="${width}" height="${height}">${grid}${lines}<text x="${pad.l}" y="${height - 4}" font-size="10" fill="#666">0 s</text><text x="${width - pad.r}" y="${height - 4}" font-size="10" fill="#666" text-anchor="end">${Math.round(x1 - x0)} s</text></svg><div class="legend">${legend}</div>`;
}

function page(title: string, subtitle: string, widgets: { title: string; series: Series[]; unit?: string }[]): string {
  const cells = widgets
    .map((w) => `<div class="w"><div class="t">${w.title}</div>${svgChart(w.series, 560, 170, w.unit ?? "")}</div>`)
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><style>
body{font-family:"DejaVu Sans",sans-serif;margin:12px;background:#f4f5f7}
h1{font-size:18px;margin:0 0 2px} p{font-size:11px;color:#555;margin:0 0 10px;max-width:1150px}
.g{display:grid;grid-template-columns:repeat(2,580px);gap:10px}
.w{background:#fff;border:1px solid #ddd;padding:6px 8px} .t{font-size:12px;font-weight:bold;margin-bottom:4px}
.legend{font-size:10px;color:#333}
</style></head><body><h1>${title}</h1><p>${subtitle}</p><div class="g">${cells}</div></body></html>`;
}

/** EMF documents → series of one metric, optionally one series per value of a dimension. */
function emfSeries(emf: Record<string, unknown>[], metric: string, by?: string): Series[] {
  const t0 = Number((emf[0]?._aws as { Timestamp: number } | undefined)?.Timestamp ?? 0);
  const out = new Map<string, [number, number][]>();
  for (const d of emf) {
    if (typeof d[metric] !== "number") continue;
    const key = by ? String(d[by]) : metric;
    const t = (Number((d._aws as { Timestamp: number }).Timestamp) - t0) / 1000;
    (out.get(key) ?? out.set(key, []).get(key)!).push([t, d[metric] as number]);
  }
  return [...out].map(([label, points]) => ({ label, points }));
}

/** Sum of the samples of a Prometheus metric in one scrape whose labels match `match`, grouped by `by`. */
function promValues(text: string, name: string, match: RegExp = /.*/, by?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([-0-9.e+]+|NaN)$/.exec(line);
    if (!m || m[1] !== name || !match.test(m[2] ?? "")) continue;
    const key = by ? (new RegExp(`${by}="([^"]*)"`).exec(m[2] ?? "")?.[1] ?? "") : name;
    out.set(key, (out.get(key) ?? 0) + Number(m[3]));
  }
  return out;
}

function promSeries(
  scrapes: { t: number; text: string }[],
  name: string,
  opts: { rate?: boolean; match?: RegExp; by?: string; label?: string } = {},
): Series[] {
  const out = new Map<string, [number, number][]>();
  const W = 5;
  scrapes.forEach((s, i) => {
    const now = promValues(s.text, name, opts.match, opts.by);
    const before = i >= W ? promValues(scrapes[i - W]!.text, name, opts.match, opts.by) : undefined;
    for (const [k, v] of now) {
      let y = v;
      if (opts.rate) {
        if (!before) continue;
        y = Math.max(0, (v - (before.get(k) ?? 0)) / (s.t - scrapes[i - W]!.t));
      }
      (out.get(k) ?? out.set(k, []).get(k)!).push([s.t, y]);
    }
  });
  return [...out].map(([k, points]) => ({ label: opts.label ?? k, points }));
}

async function main() {
  const { emf, scrapes } = await run();
  const P = "wootric_firehose_";
  const note =
    "Rendered by scripts/render-dashboards.ts from a real run of the built service (Firehose sink against the local Firehose stub, poller against the fake Wootric API): 100 s of webhooks, a wrong-secret burst at 15–25 s, the stream missing at 30–65 s.";
  const cw = page(
    "CloudWatch dashboard (terraform/dashboard.tf) — values from the service's EMF lines",
    `${note} EMF interval 1 s instead of 60 s. AWS/Firehose widgets have no data outside AWS.`,
    [
      { title: "Intake: webhooks by status", series: emfSeries(emf, "WebhookRequests", "Status") },
      {
        title: "Intake: signature failures and dead letters",
        series: [...emfSeries(emf, "SignatureFailures"), ...emfSeries(emf, "DeadLetters")],
      },
      {
        title: "Spool: records waiting",
        series: emfSeries(emf, "SpoolRecords"),
      },
      { title: "Spool: oldest age (s)", series: emfSeries(emf, "SpoolOldestAgeSeconds"), unit: "" },
      {
        title: "Producer: lines sent, throttled entries, blocked",
        series: [...emfSeries(emf, "FirehoseLinesSent"), ...emfSeries(emf, "ThrottledEntries")],
      },
      { title: "Producer blocked (1 = cannot send)", series: emfSeries(emf, "ProducerBlocked") },
      {
        title: "Poller: seconds since the last successful run, per stream",
        series: emfSeries(emf, "PollLastSuccessAgeSeconds", "Stream"),
      },
      { title: "Firehose: incoming vs delivered records (AWS/Firehose)", series: [] },
    ],
  );
  const grafana = page(
    "Grafana dashboard (docs/grafana-dashboard.json) — values scraped from /metrics",
    `${note} /metrics scraped every second; rate() and increase() computed over 5 s.`,
    [
      {
        title: "Webhooks by status (per second)",
        series: promSeries(scrapes, `${P}http_requests_total`, {
          rate: true,
          match: /route="\/webhooks\/wootric"/,
          by: "status",
        }),
      },
      {
        title: "Signature failures (per second)",
        series: promSeries(scrapes, `${P}webhook_signature_failures_total`, { rate: true, label: "401" }),
      },
      { title: "Spool: records waiting", series: promSeries(scrapes, `${P}spool_records`) },
      { title: "Spool: oldest record age (s)", series: promSeries(scrapes, `${P}spool_oldest_age_seconds`) },
      {
        title: "Producer: lines accepted (per second)",
        series: promSeries(scrapes, `${P}producer_lines_sent_total`, { rate: true, label: "lines accepted" }),
      },
      { title: "Producer blocked", series: promSeries(scrapes, `${P}producer_blocked`) },
      {
        title: "Seconds since the last successful run, per stream",
        series: promSeries(scrapes, `${P}poll_last_success_age_seconds`, { by: "stream" }),
      },
      {
        title: "Bookmark lag per stream (s)",
        series: promSeries(scrapes, `${P}poll_bookmark_lag_seconds`, { by: "stream" }),
      },
    ],
  );
  const outDir = join(ROOT, "docs", "img");
  await mkdir(outDir, { recursive: true });
  const tmp = await mkdtemp(join(tmpdir(), "wf-render-html-"));
  for (const [name, html] of [
    ["cloudwatch-dashboard", cw],
    ["grafana-dashboard", grafana],
  ] as const) {
    const file = join(tmp, `${name}.html`);
    await writeFile(file, html);
    const r = spawnSync(
      "chromium",
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        `--screenshot=${join(outDir, `${name}.png`)}`,
        "--window-size=1200,1000",
        `file://${file}`,
      ],
      { encoding: "utf8", timeout: 60_000 },
    );
    if (r.status !== 0) throw new Error(`chromium failed: ${r.stderr}`);
    console.log(`wrote docs/img/${name}.png (${emf.length} EMF lines, ${scrapes.length} scrapes)`);
  }
  await readFile(join(outDir, "cloudwatch-dashboard.png"));
  await rm(tmp, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
