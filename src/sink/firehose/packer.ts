import { FIREHOSE_LIMITS, type PackLimits } from "./config.js";

/** A line the packer carries; `bytes` is its length including the trailing "\n". */
export interface PackableLine {
  payload: Buffer;
}

/** One Firehose record: consecutive newline-terminated lines concatenated (multi-record deaggregation compatible). */
export interface PackedRecord<L extends PackableLine = PackableLine> {
  lines: L[];
  bytes: number;
  /** The record's bytes, built once; its lines' payloads then become views into it (no second copy in memory). */
  data?: Buffer;
}

export function recordData(record: PackedRecord): Buffer {
  if (record.data) return record.data;
  if (record.lines.length === 1) return (record.data = record.lines[0]!.payload);
  const data = Buffer.concat(
    record.lines.map((l) => l.payload),
    record.bytes,
  );
  let offset = 0;
  for (const line of record.lines) {
    const n = line.payload.length;
    line.payload = data.subarray(offset, offset + n);
    offset += n;
  }
  return (record.data = data);
}

export function billedUnits(recordBytes: number): number {
  return Math.max(1, Math.ceil(recordBytes / FIREHOSE_LIMITS.billingUnitBytes));
}

/**
 * Packs lines, in order, into records of ≤ maxRecordBytes and ≤ maxLinesPerRecord lines, and records into one batch of
 * ≤ maxRecordsPerBatch records and ≤ maxBatchBytes. `tryAdd` returns false when the line does not fit (the batch is
 * full); a line larger than a record can never fit and must be routed elsewhere by the caller (see `fitsInRecord`).
 */
export class BatchBuilder<L extends PackableLine = PackableLine> {
  readonly records: PackedRecord<L>[] = [];
  private batchBytes = 0;

  constructor(private readonly limits: PackLimits) {}

  static fitsInRecord(bytes: number, limits: PackLimits): boolean {
    return bytes > 0 && bytes <= limits.maxRecordBytes;
  }

  tryAdd(line: L): boolean {
    const n = line.payload.length;
    if (!BatchBuilder.fitsInRecord(n, this.limits))
      throw new RangeError(`line of ${n} bytes cannot fit a Firehose record`);
    // The first line always fits (a batch limit below one record only shrinks batches to a single line).
    if (this.batchBytes > 0 && this.batchBytes + n > this.limits.maxBatchBytes) return false;
    const current = this.records[this.records.length - 1];
    if (
      current &&
      current.lines.length < this.limits.maxLinesPerRecord &&
      current.bytes + n <= this.limits.maxRecordBytes
    ) {
      current.lines.push(line);
      current.bytes += n;
    } else {
      if (this.records.length >= this.limits.maxRecordsPerBatch) return false;
      this.records.push({ lines: [line], bytes: n });
    }
    this.batchBytes += n;
    return true;
  }

  get bytes(): number {
    return this.batchBytes;
  }

  get isEmpty(): boolean {
    return this.records.length === 0;
  }
}

/** Splits one record's lines into two records (used to isolate a poison line). */
export function splitRecord<L extends PackableLine>(record: PackedRecord<L>): [PackedRecord<L>, PackedRecord<L>] {
  const mid = Math.ceil(record.lines.length / 2);
  const a = record.lines.slice(0, mid);
  const b = record.lines.slice(mid);
  const size = (ls: L[]) => ls.reduce((n, l) => n + l.payload.length, 0);
  return [
    { lines: a, bytes: size(a) },
    { lines: b, bytes: size(b) },
  ];
}
