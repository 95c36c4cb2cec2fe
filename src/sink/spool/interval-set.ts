/**
 * Sorted, merged, half-open byte ranges [start, end): the acknowledged frames of one segment.
 * Acks arrive out of order (concurrent batches, retries), so ranges are merged on insert.
 */
export class IntervalSet {
  private starts: number[] = [];
  private ends: number[] = [];

  /** Adds [start, end) (integer offsets). Returns false (and changes nothing) when any part was already present. */
  add(start: number, end: number): boolean {
    if (end <= start) return false;
    const i = this.lowerBoundEnd(start + 1); // first interval ending after `start`
    const n = this.starts.length;
    if (i < n && this.starts[i]! < end) return false;
    const mergeLeft = i > 0 && this.ends[i - 1]! === start;
    const mergeRight = i < n && this.starts[i]! === end;
    if (mergeLeft && mergeRight) {
      this.ends[i - 1] = this.ends[i]!;
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (mergeLeft) {
      this.ends[i - 1] = end;
    } else if (mergeRight) {
      this.starts[i] = start;
    } else {
      this.starts.splice(i, 0, start);
      this.ends.splice(i, 0, end);
    }
    return true;
  }

  /** Whether [start, end) is entirely covered. */
  covers(start: number, end: number): boolean {
    const i = this.lowerBoundEnd(start + 1);
    return i < this.starts.length && this.starts[i]! <= start && this.ends[i]! >= end;
  }

  /** The first offset >= from that is not covered. */
  firstGap(from: number): number {
    const i = this.lowerBoundEnd(from + 1);
    if (i < this.starts.length && this.starts[i]! <= from) return this.ends[i]!;
    return from;
  }

  get size(): number {
    return this.starts.length;
  }

  entries(): Array<[number, number]> {
    return this.starts.map((s, i) => [s, this.ends[i]!]);
  }

  /** Index of the first interval whose end >= x. */
  private lowerBoundEnd(x: number): number {
    let lo = 0;
    let hi = this.ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
