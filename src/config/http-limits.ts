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

/**
 * Bounds on traffic that has not been authenticated yet (bodies are read before their signature can be checked).
 * With the defaults the worst case held in memory is WEBHOOK_MAX_INFLIGHT_BYTES of bodies plus per-connection
 * buffers for HTTP_MAX_CONNECTIONS connections (measured: docs/hardening.md).
 */
export const DEFAULT_HTTP_LIMITS = {
  maxConnections: 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  bodyIdleTimeoutMs: 5_000,
  maxInflightBodyBytes: 64 * 1024 * 1024,
  /** Longer than a load balancer's idle timeout (ALB: 60 s), so the balancer closes idle connections first. */
  keepAliveTimeoutMs: 65_000,
} as const;
