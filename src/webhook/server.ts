import { createServer, type Server } from "node:http";
import type { Express } from "express";
import { ConfigError } from "../config.js";

/** What bounds unauthenticated traffic before a signature can be checked (HTTP_* and WEBHOOK_* variables). */
export interface HttpLimits {
  /** Open connections accepted at once; more are dropped by the kernel accept loop (HTTP_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Time to receive a request's headers; 408 after it (HTTP_HEADERS_TIMEOUT_MS). */
  headersTimeoutMs: number;
  /** Time to receive a whole request, headers and body; 408 after it (HTTP_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** Longest pause between two pieces of a body; 408 after it (WEBHOOK_BODY_IDLE_TIMEOUT_MS). */
  bodyIdleTimeoutMs: number;
  /** Body bytes held by requests not answered yet, all requests together; 503 beyond (WEBHOOK_MAX_INFLIGHT_BYTES). */
  maxInflightBodyBytes: number;
  /** Idle keep-alive time; longer than a load balancer's (ALB: 60 s) so the balancer closes first. */
  keepAliveTimeoutMs: number;
}

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
    const code = (err as NodeJS.ErrnoException).code ?? "";
    // An address this machine does not have, or a name that does not resolve: a configuration error (exit 2).
    if (["EADDRNOTAVAIL", "ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NONAME"].includes(code)) {
      throw new ConfigError([
        `HOST=${JSON.stringify(at.host)}: cannot listen there (${code}); set HOST to 0.0.0.0 (all IPv4 interfaces), :: (all interfaces), 127.0.0.1, or an address of this machine`,
      ]);
    }
    throw err;
  }
  return server;
}
