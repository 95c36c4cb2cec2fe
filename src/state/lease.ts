import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { z } from "zod";
import type { Clock } from "../common/clock.js";
import { isProcessAlive } from "../common/process.js";
import { StateConflictError, StateError, type StateStore } from "./store.js";

export const LEASE_KEY = "lease.json";

const leaseSchema = z.object({
  holder: z.string(),
  host: z.string().optional(),
  pid: z.number().optional(),
  purpose: z.string().optional(),
  acquired_at: z.string(),
  expires_at: z.string(),
});
export type LeaseBody = z.infer<typeof leaseSchema>;

export class LeaseLostError extends StateError {
  constructor(detail: string) {
    super(`the poller lease was lost: ${detail}`, true);
  }
}

export class LeaseHeldError extends Error {
  constructor(readonly current: LeaseBody) {
    super(
      `another poller holds the lease (${current.purpose ?? "sync"} by ${current.holder} on ${current.host ?? "?"} pid ${current.pid ?? "?"}, until ${current.expires_at})`,
    );
    this.name = "LeaseHeldError";
  }
}

/**
 * One replica polls at a time: the holder of `lease.json` in the state store. Taking it is a conditional create
 * (or a conditional replace of an expired lease), renewing is a conditional replace of the version we wrote, so a
 * replica that lost the lease learns it on its next renewal. A lease whose holder died expires after its TTL.
 * Expiry is judged by each replica's clock; keep clocks in sync (NTP) and the TTL well above the skew.
 */
export class Lease {
  private lost: string | undefined;
  private renewing: Promise<void> | undefined;
  private stopRenew = new AbortController();

  private constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
    private readonly ttlMs: number,
    private body: LeaseBody,
    private version: string,
  ) {}

  get holder(): string {
    return this.body.holder;
  }

  get expiresAtMs(): number {
    return Date.parse(this.body.expires_at);
  }

  /** Takes the lease, or throws LeaseHeldError naming the current holder. */
  static async acquire(
    store: StateStore,
    opts: { ttlMs: number; clock: Clock; purpose: string; holder?: string },
  ): Promise<Lease> {
    const now = opts.clock.now();
    const body: LeaseBody = {
      holder: opts.holder ?? randomUUID(),
      host: hostname(),
      pid: process.pid,
      purpose: opts.purpose,
      acquired_at: new Date(now).toISOString(),
      expires_at: new Date(now + opts.ttlMs).toISOString(),
    };
    const current = await store.read(LEASE_KEY);
    let version: string;
    try {
      if (!current) {
        version = await store.write(LEASE_KEY, JSON.stringify(body), { ifAbsent: true });
      } else {
        const parsed = leaseSchema.safeParse(safeJson(current.body));
        if (
          parsed.success &&
          Date.parse(parsed.data.expires_at) > now &&
          parsed.data.holder !== body.holder &&
          !heldByDeadLocalProcess(parsed.data)
        ) {
          throw new LeaseHeldError(parsed.data);
        }
        version = await store.write(LEASE_KEY, JSON.stringify(body), { ifVersion: current.version });
      }
    } catch (err) {
      if (err instanceof StateConflictError) {
        const winner = await store.read(LEASE_KEY);
        const parsed = winner ? leaseSchema.safeParse(safeJson(winner.body)) : undefined;
        if (parsed?.success) throw new LeaseHeldError(parsed.data);
        throw new LeaseHeldError({ holder: "unknown", acquired_at: "?", expires_at: "?" });
      }
      throw err;
    }
    return new Lease(store, opts.clock, opts.ttlMs, body, version);
  }

  /** Extends the lease by its TTL. Throws LeaseLostError when someone else replaced it. */
  async renew(): Promise<void> {
    if (this.lost) throw new LeaseLostError(this.lost);
    const now = this.clock.now();
    const next: LeaseBody = { ...this.body, expires_at: new Date(now + this.ttlMs).toISOString() };
    try {
      this.version = await this.store.write(LEASE_KEY, JSON.stringify(next), { ifVersion: this.version });
      this.body = next;
    } catch (err) {
      if (err instanceof StateConflictError) {
        this.lost = "another replica replaced it (it had expired, or this replica stalled past its TTL)";
        throw new LeaseLostError(this.lost);
      }
      throw err;
    }
  }

  /** Throws unless the lease is held with at least a tenth of its TTL left (checked before every bookmark write). */
  assertHeld(): void {
    if (this.lost) throw new LeaseLostError(this.lost);
    if (this.clock.now() > this.expiresAtMs - this.ttlMs / 10) {
      throw new LeaseLostError(`it expired at ${this.body.expires_at} without being renewed`);
    }
  }

  /** Renews every third of the TTL in the background until release(). Failed renewals are retried every twentieth of the TTL. */
  startAutoRenew(onError: (err: unknown) => void): void {
    const signal = this.stopRenew.signal;
    const loop = async () => {
      while (!signal.aborted && !this.lost) {
        try {
          // Renew when two thirds of the TTL remain, counted from the expiry we wrote (not from when the last
          // renewal finished, so slow writes do not make renewals drift towards the expiry).
          await this.clock.sleep(Math.max(0, this.expiresAtMs - (2 * this.ttlMs) / 3 - this.clock.now()), signal);
        } catch {
          return;
        }
        try {
          await this.renew();
        } catch (err) {
          onError(err);
          // The expiry did not move, so the next sleep above would be zero: pause instead of retrying in a tight loop.
          try {
            await this.clock.sleep(this.ttlMs / 20, signal);
          } catch {
            return;
          }
        }
      }
    };
    this.renewing = loop();
  }

  /** Gives the lease up so another replica can start at once. */
  async release(): Promise<void> {
    this.stopRenew.abort();
    await this.renewing;
    if (this.lost) return;
    const released: LeaseBody = { ...this.body, expires_at: new Date(0).toISOString() };
    try {
      this.version = await this.store.write(LEASE_KEY, JSON.stringify(released), { ifVersion: this.version });
      this.lost = "released";
    } catch (err) {
      if (!(err instanceof StateConflictError)) throw err;
    }
  }
}

/**
 * A lease written by a process on this same host that no longer exists (killed, crashed) need not run out its
 * TTL: a restarted `sync --once` can take it over at once. Only a definite "no such process" counts; hostnames
 * must be unique per replica (they are by default in Docker, ECS and Kubernetes).
 */
function heldByDeadLocalProcess(lease: LeaseBody): boolean {
  if (lease.host !== hostname() || lease.pid === undefined || lease.pid === process.pid) return false;
  return !isProcessAlive(lease.pid);
}

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return undefined;
  }
}
