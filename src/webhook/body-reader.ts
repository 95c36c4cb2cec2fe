import type { NextFunction, Request, RequestHandler, Response } from "express";

/** Body bytes held by requests not answered yet, all requests together. */
export class InflightBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  get bytes(): number {
    return this.used;
  }

  tryTake(n: number): boolean {
    if (this.used + n > this.limit) return false;
    this.used += n;
    return true;
  }

  give(n: number): void {
    this.used = Math.max(0, this.used - n);
  }
}

export interface BodyReaderOptions {
  maxBodyBytes: number;
  idleTimeoutMs: number;
  budget: InflightBudget;
  /** Called for every request refused here (status), for counting and sampled logging. */
  onRefused: (req: Request, status: number, reason: string) => void;
}

/**
 * Reads a webhook body into `req.body` (a Buffer) under three bounds, all before the signature can be checked:
 * at most maxBodyBytes (413), at most idleTimeoutMs between two pieces (408), and a global budget of bytes in flight
 * across all requests (503 + Retry-After), taken up front from Content-Length or chunk by chunk without one. The
 * budget is given back when the response is done. A Content-Encoding other than identity is refused (415): the
 * signature covers the exact bytes received, and Wootric does not compress.
 */
export function boundedRawBody(opts: BodyReaderOptions): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const refuse = (status: number, reason: string, headers: Record<string, string> = {}) => {
      opts.onRefused(req, status, reason);
      if (res.headersSent) return;
      // The rest of the body is not read: close the connection once answered.
      res
        .set({ Connection: "close", ...headers })
        .status(status)
        .json({ error: reason });
      req.unpipe();
      req.resume();
    };

    const encoding = (req.get("content-encoding") ?? "identity").trim().toLowerCase();
    if (encoding !== "identity" && encoding !== "") {
      refuse(
        415,
        `Content-Encoding ${encoding} is not accepted: send the body uncompressed (the signature covers the exact bytes)`,
      );
      return;
    }
    const declared = req.get("content-length");
    const length = declared === undefined ? undefined : Number(declared);
    if (length !== undefined && length > opts.maxBodyBytes) {
      refuse(413, `body larger than ${opts.maxBodyBytes} bytes (WEBHOOK_MAX_BYTES)`);
      return;
    }

    let taken = 0;
    const giveBack = () => {
      opts.budget.give(taken);
      taken = 0;
    };
    res.once("close", giveBack);
    const busy = () =>
      refuse(503, "too many request bodies in flight; retry later (WEBHOOK_MAX_INFLIGHT_BYTES)", {
        "Retry-After": "2",
      });
    if (length !== undefined) {
      if (!opts.budget.tryTake(length)) return busy();
      taken = length;
    }

    const chunks: Buffer[] = [];
    let received = 0;
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: { status: number; reason: string; headers?: Record<string, string> }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("aborted", onAborted);
      if (err) {
        chunks.length = 0;
        refuse(err.status, err.reason, err.headers);
        return;
      }
      req.body = Buffer.concat(chunks, received);
      next();
    };
    const armIdle = () => {
      clearTimeout(timer);
      timer = setTimeout(
        () =>
          finish({ status: 408, reason: `no body bytes for ${opts.idleTimeoutMs} ms (WEBHOOK_BODY_IDLE_TIMEOUT_MS)` }),
        opts.idleTimeoutMs,
      );
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > opts.maxBodyBytes) {
        finish({ status: 413, reason: `body larger than ${opts.maxBodyBytes} bytes (WEBHOOK_MAX_BYTES)` });
        return;
      }
      if (received > taken) {
        const more = received - taken;
        if (!opts.budget.tryTake(more)) {
          finish({
            status: 503,
            reason: "too many request bodies in flight; retry later (WEBHOOK_MAX_INFLIGHT_BYTES)",
            headers: { "Retry-After": "2" },
          });
          return;
        }
        taken += more;
      }
      chunks.push(chunk);
      armIdle();
    };
    const onEnd = () => finish();
    const onError = () => {
      done = true;
      clearTimeout(timer);
      chunks.length = 0;
    };
    const onAborted = onError;
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("aborted", onAborted);
    armIdle();
  };
}
