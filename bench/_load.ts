import http from "node:http";

export interface LoadRequest {
  body: Buffer;
  headers: Record<string, string>;
}

export interface LoadResult {
  requests: number;
  ok: number;
  failed: number;
  seconds: number;
  latenciesMs: number[];
}

/**
 * A closed-loop loopback load generator: `concurrency` workers each keep one request in flight over a keep-alive
 * connection for `durationMs`, cycling through `requests`.
 */
export async function runLoad(opts: {
  url: string;
  requests: LoadRequest[];
  concurrency: number;
  durationMs: number;
}): Promise<LoadResult> {
  const target = new URL(opts.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const latencies: number[] = [];
  let ok = 0;
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const stopAt = started + opts.durationMs;

  const once = (req: LoadRequest) =>
    new Promise<number>((resolve) => {
      const r = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: "POST",
          agent,
          headers: { ...req.headers, "content-length": String(req.body.length) },
        },
        (res) => {
          res.resume();
          res.on("end", () => resolve(res.statusCode ?? 0));
        },
      );
      r.on("error", () => resolve(0));
      r.end(req.body);
    });

  const worker = async () => {
    while (performance.now() < stopAt) {
      const req = opts.requests[next++ % opts.requests.length]!;
      const t0 = performance.now();
      const status = await once(req);
      latencies.push(performance.now() - t0);
      if (status >= 200 && status < 300) ok++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  return { requests: ok + failed, ok, failed, seconds, latenciesMs: latencies };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
