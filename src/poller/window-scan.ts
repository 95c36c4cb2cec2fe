import { toEpochSeconds } from "../records/time.js";
import type { WootricClient } from "../wootric/client.js";
import { WootricApiError } from "../wootric/errors.js";
import type { WindowStreamDecl } from "./streams.js";

export const PER_PAGE = 50;
export const MAX_PAGE = 30;
/** Reads of a crowded second (more than one page) until one finds no record the previous ones missed. */
const MAX_SECOND_PASSES = 4;

export interface ScanPage {
  /** Raw records, each delivered once per scan. */
  rows: Record<string, unknown>[];
  /** Every record whose cursor second is below `safe` has now been delivered. */
  safe: number;
}

export interface OverfullSecond {
  second: number;
  ascending: number;
  descending: number;
  fetched: number;
  /** True when the descending read reached records the ascending read had: every record was seen. */
  overlapped: boolean;
}

export interface ScanOptions {
  client: WootricClient;
  decl: WindowStreamDecl;
  /** Half-open window [from, to) in Unix seconds. */
  from: number;
  to: number;
  signal?: AbortSignal;
  onPage: (page: ScanPage) => Promise<void>;
  onOverfull: (info: OverfullSecond) => void;
}

const idOf = (row: Record<string, unknown>) => (row.id === undefined ? JSON.stringify(row) : String(row.id));
/** A record at one cursor second: the same id at a later second is a newer version and must be delivered again. */
const versionOf = (decl: WindowStreamDecl, row: Record<string, unknown>) =>
  `${idOf(row)}@${toEpochSeconds(row[decl.cursorField])}`;

/**
 * Reads every record of [from, to) in ascending cursor order without ever moving past a second it has not finished.
 *
 * Each request asks for page 1 of [cursor, to). When the page is full, everything before the second of its last
 * record (T) is complete, and the next request is page 1 of [T, to): the window is cut at T, never past it, so
 * records sharing T are read again rather than skipped, and no offset exists to shift when records move out of the
 * window while it is read (an end user updated mid-read). Only when a full page holds one single second do we page
 * through that second with page=1..30; if page 30 is full too the second holds more than 1,500 records, and it is
 * read again in descending order to reach up to 1,500 more (reported through onOverfull).
 */
export async function scanWindow(opts: ScanOptions): Promise<void> {
  const { decl } = opts;
  let cursor = opts.from;
  /** Records (id at second) already delivered whose cursor second is `cursor` (the re-read of [T, to) returns them again). */
  let carried = new Set<string>();
  while (cursor < opts.to) {
    opts.signal?.throwIfAborted();
    const rows = await fetchPage(opts, cursor, opts.to, 1, "asc");
    const seconds = checkOrder(decl, rows, cursor, opts.to);
    const fresh = (list: Record<string, unknown>[]) => list.filter((r) => !carried.has(versionOf(decl, r)));
    if (rows.length < PER_PAGE) {
      await opts.onPage({ rows: fresh(rows), safe: opts.to });
      return;
    }
    const last = lastSecond(seconds, decl);
    if (last > cursor) {
      await opts.onPage({ rows: fresh(rows), safe: last });
      carried = new Set(rows.filter((_, i) => seconds[i] === last).map((r) => versionOf(decl, r)));
      cursor = last;
      continue;
    }
    const whole = await readWholeSecond(opts, cursor);
    await opts.onPage({ rows: fresh(whole), safe: cursor + 1 });
    carried = new Set();
    cursor += 1;
  }
}

async function readWholeSecond(opts: ScanOptions, second: number): Promise<Record<string, unknown>[]> {
  const byId = new Map<string, Record<string, unknown>>();
  let ascending = 0;
  // Pages are offsets: a record that leaves the second between two pages (an end user updated again) shifts the next
  // one past the read. Read the second again until a pass finds nothing new (records only leave a past second).
  for (let pass = 1; ; pass += 1) {
    const known = byId.size;
    let reachedEnd = false;
    for (let page = 1; page <= MAX_PAGE && !reachedEnd; page += 1) {
      const rows = await fetchPage(opts, second, second + 1, page, "asc");
      checkOrder(opts.decl, rows, second, second + 1);
      if (pass === 1) ascending += rows.length;
      for (const r of rows) byId.set(idOf(r), r);
      reachedEnd = rows.length < PER_PAGE;
    }
    if (!reachedEnd) break;
    if ((pass > 1 && byId.size === known) || pass === MAX_SECOND_PASSES) return [...byId.values()];
  }
  // Page 30 was full: the list API cannot page further in this order. Read the other end of the second.
  let descending = 0;
  let overlapped = false;
  for (let page = 1; page <= MAX_PAGE && !overlapped; page += 1) {
    const rows = await fetchPage(opts, second, second + 1, page, "desc");
    descending += rows.length;
    for (const r of rows) {
      const id = idOf(r);
      if (byId.has(id)) overlapped = true;
      else byId.set(id, r);
    }
    if (rows.length < PER_PAGE) overlapped = true;
  }
  opts.onOverfull({ second, ascending, descending, fetched: byId.size, overlapped });
  return [...byId.values()];
}

async function fetchPage(
  opts: ScanOptions,
  gte: number,
  lt: number,
  page: number,
  order: "asc" | "desc",
): Promise<Record<string, unknown>[]> {
  const { decl } = opts;
  const body = await opts.client.getJson(
    decl.endpoint,
    {
      [`${decl.filter}[gte]`]: gte,
      [`${decl.filter}[lt]`]: lt,
      sort_key: decl.sortKey,
      sort_order: order,
      per_page: PER_PAGE,
      page,
    },
    opts.signal,
  );
  if (!Array.isArray(body)) {
    throw new WootricApiError(
      `GET ${decl.endpoint} did not answer a JSON array`,
      200,
      decl.endpoint,
      JSON.stringify(body).slice(0, 300),
    );
  }
  return body.map((r) =>
    r !== null && typeof r === "object" && !Array.isArray(r) ? (r as Record<string, unknown>) : { _not_an_object: r },
  );
}

/** Cursor seconds of the rows; throws when the API ignored the window or the ascending sort (seeking would be unsafe). */
function checkOrder(
  decl: WindowStreamDecl,
  rows: Record<string, unknown>[],
  gte: number,
  lt: number,
): (number | undefined)[] {
  const seconds = rows.map((r) => toEpochSeconds(r[decl.cursorField]));
  let prev = -Infinity;
  for (const s of seconds) {
    if (s === undefined) continue;
    if (s < gte || s >= lt) {
      throw new WootricApiError(
        `GET ${decl.endpoint} returned a record with ${decl.cursorField} ${s} outside the requested window [${gte}, ${lt}): the ${decl.filter} filter was not applied`,
        200,
        decl.endpoint,
      );
    }
    if (s < prev) {
      throw new WootricApiError(
        `GET ${decl.endpoint} did not sort by ${decl.cursorField} ascending (sort_order=asc ignored)`,
        200,
        decl.endpoint,
      );
    }
    prev = s;
  }
  return seconds;
}

function lastSecond(seconds: (number | undefined)[], decl: WindowStreamDecl): number {
  for (let i = seconds.length - 1; i >= 0; i -= 1) {
    const s = seconds[i];
    if (s !== undefined) return s;
  }
  throw new WootricApiError(
    `GET ${decl.endpoint} returned a full page without any readable ${decl.cursorField}`,
    200,
    decl.endpoint,
  );
}
