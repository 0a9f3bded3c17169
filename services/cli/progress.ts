/** One status line on stderr, redrawn in place on a terminal and silent otherwise (logs stay clean). */
import type { WriteStream } from 'node:tty';

export class StatusLine {
  private last = '';
  private readonly tty: boolean;

  constructor(private readonly out: NodeJS.WriteStream | WriteStream) {
    this.tty = Boolean((out as WriteStream).isTTY);
  }

  /** Replace the current line (throttled by the caller). */
  update(text: string): void {
    if (!this.tty || text === this.last) return;
    this.last = text;
    const width = (this.out as WriteStream).columns ?? 100;
    this.out.write(`\r\x1b[2K${text.slice(0, width - 1)}`);
  }

  /** Finish the current line with a final message (printed on non-terminals too). */
  done(text: string): void {
    if (this.tty) this.out.write('\r\x1b[2K');
    this.out.write(`${text}\n`);
    this.last = '';
  }

  clear(): void {
    if (this.tty && this.last) this.out.write('\r\x1b[2K');
    this.last = '';
  }
}
