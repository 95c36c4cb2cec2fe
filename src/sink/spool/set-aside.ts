import { existsSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { copyAside } from "./resync.js";

/** Files in the spool directory holding bytes set aside as corrupt (or foreign), until an operator moves them. */
export class SetAsideFiles {
  private readonly names = new Set<string>();

  constructor(private readonly dir: string) {}

  add(name: string): void {
    this.names.add(name);
  }

  /** Copies damaged bytes to `<segment>.corrupt-<offset>-<ms>` beside the segment; returns the file's name. */
  async keepDamage(fh: FileHandle, segmentPath: string, from: number, to: number): Promise<string> {
    const name = `${basename(segmentPath)}.corrupt-${from}-${Date.now()}`;
    await copyAside(fh, from, to, join(this.dir, name));
    this.names.add(name);
    return name;
  }

  /** The names still present (one moved out or renamed by an operator is dropped), sorted. */
  list(): string[] {
    for (const name of this.names) if (!existsSync(join(this.dir, name))) this.names.delete(name);
    return [...this.names].sort();
  }
}
