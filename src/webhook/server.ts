import { createServer, type Server } from "node:http";
import type { Express } from "express";
import type { HttpLimits } from "../config/index.js";

/** An HTTP server with the limits applied, listening on host:port. */
export async function listenWithLimits(
  app: Express,
  at: { port: number; host: string },
  limits: HttpLimits,
  opts: { connectionsCheckingIntervalMs?: number } = {},
): Promise<Server> {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // Node checks the two timeouts above on this interval (default 30 s): check often enough that they hold.
      connectionsCheckingInterval:
        opts.connectionsCheckingIntervalMs ?? Math.max(100, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    app,
  );
  server.maxConnections = limits.maxConnections;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(at.port, at.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    // EADDRINUSE, EADDRNOTAVAIL, ENOTFOUND...: explained by the CLI with the setting to change (startup-errors.ts).
    server.close();
    throw err;
  }
  return server;
}
