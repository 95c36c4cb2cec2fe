/** One status line redrawn with \r on a TTY (stderr), nothing otherwise: the report itself goes to stdout. */
export class ReplayProgress {
  private lastDraw = 0;
  private drawn = false;

  constructor(
    private readonly out: NodeJS.WritableStream & { isTTY?: boolean },
    private readonly tty: boolean = out.isTTY === true,
    private readonly now: () => number = Date.now,
  ) {}

  update(text: string, force = false): void {
    if (!this.tty) return;
    const t = this.now();
    if (!force && t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.drawn = true;
    this.out.write(`\r\x1b[2K${text}`);
  }

  /** Clears the line before other output, so the report is not written over it. */
  clear(): void {
    if (this.tty && this.drawn) this.out.write("\r\x1b[2K");
    this.drawn = false;
  }
}
