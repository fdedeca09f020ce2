import { once } from 'node:events';
import { terminalSafe } from '../text/terminal-text.js';
import type { BadLine } from './offline-rules.js';

/** Writes text and waits while the stream's buffer is full, so a slow reader of stdout slows the run instead of growing memory. */
export type TextSink = (text: string) => Promise<void>;

export const sinkOf =
  (stream: NodeJS.WritableStream): TextSink =>
  async (text) => {
    if (!stream.write(text)) await once(stream, 'drain');
  };

/** Collects text in memory (tests). */
export function memorySink(): { sink: TextSink; text: () => string } {
  const parts: string[] = [];
  return { sink: async (t) => void parts.push(t), text: () => parts.join('') };
}

/** JSON that stays JSON and prints safely: C1 controls and the Unicode controls JSON.stringify leaves raw are escaped too. */
export const safeJson = (value: unknown, indent?: number): string =>
  JSON.stringify(value, null, indent).replace(
    /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );

/** How many rows fix the column widths; later rows use them (a longer cell just pushes its line wider). */
const WIDTH_SAMPLE = 1_000;

/**
 * A plain text table written as rows come: the first rows are held to size the columns, then
 * every row is written at once. Memory is bounded by the sample, whatever the number of rows.
 * Every cell is made terminal-safe.
 */
export class StreamingTable {
  private held: string[][] | undefined = [];
  private widths: number[] = [];
  private rows = 0;

  constructor(
    private readonly header: readonly string[],
    private readonly sink: TextSink,
    private readonly numeric: ReadonlySet<string> = new Set(),
    private readonly sample = WIDTH_SAMPLE,
  ) {}

  async row(cells: readonly string[]): Promise<void> {
    const safe = cells.map(terminalSafe);
    this.rows++;
    if (this.held !== undefined) {
      this.held.push(safe);
      if (this.held.length >= this.sample) await this.flushHeld();
      return;
    }
    await this.sink(`${this.format(safe)}\n`);
  }

  /** Writes what is held, then the summary line (after a blank line when there were rows). */
  async end(summary: string): Promise<void> {
    if (this.held !== undefined && this.held.length > 0) await this.flushHeld();
    await this.sink(`${this.rows > 0 ? '\n' : ''}${terminalSafe(summary)}\n`);
  }

  private async flushHeld(): Promise<void> {
    const held = this.held ?? [];
    this.held = undefined;
    this.widths = this.header.map((h) => h.length);
    for (const cells of held) cells.forEach((c, i) => (this.widths[i] = Math.max(this.widths[i] ?? 0, c.length)));
    let text = `${this.format(this.header)}\n${this.widths.map((w) => '-'.repeat(w)).join('  ')}\n`;
    for (const cells of held) text += `${this.format(cells)}\n`;
    await this.sink(text);
  }

  private format(cells: readonly string[]): string {
    return cells
      .map((c, i) => (this.numeric.has(this.header[i]!) ? c.padStart(this.widths[i]!) : c.padEnd(this.widths[i]!)))
      .join('  ')
      .trimEnd();
  }
}

/**
 * A JSON object with one long array, written as the array's items come:
 * `{ ...head, "<key>": [ item, item, … ], ...tail }`. Only the current item is in memory.
 */
export class StreamingJsonArray {
  private items = 0;
  private started = false;

  constructor(
    private readonly sink: TextSink,
    private readonly key: string,
    private readonly head: Readonly<Record<string, unknown>>,
  ) {}

  async item(value: unknown): Promise<void> {
    await this.start();
    await this.sink(`${this.items++ === 0 ? '\n' : ',\n'}    ${safeJson(value)}`);
  }

  async end(tail: Readonly<Record<string, unknown>>): Promise<void> {
    await this.start();
    const rest = Object.entries(tail).map(([k, v]) => `,\n  ${JSON.stringify(k)}: ${safeJson(v, 2).replace(/\n/g, '\n  ')}`);
    await this.sink(`${this.items > 0 ? '\n  ' : ''}]${rest.join('')}\n}\n`);
  }

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const head = Object.entries(this.head).map(([k, v]) => `  ${JSON.stringify(k)}: ${safeJson(v)},\n`);
    await this.sink(`{\n${head.join('')}  ${JSON.stringify(this.key)}: [`);
  }
}

/**
 * Bad lines as they are met: the first `max` printed on stderr (terminal-safe) and kept for the
 * JSON result, the rest only counted, so a recording of nothing but bad lines takes no memory.
 */
export class BadLineReport {
  readonly kept: BadLine[] = [];
  private omitted = 0;

  constructor(
    private readonly file: string,
    private readonly max: number,
    private readonly stderr: TextSink,
  ) {}

  async add(bad: BadLine): Promise<void> {
    if (this.kept.length >= this.max) {
      this.omitted++;
      return;
    }
    const safe = { line: bad.line, path: terminalSafe(bad.path), message: terminalSafe(bad.message) };
    this.kept.push(safe);
    await this.stderr(`${terminalSafe(this.file)}:${safe.line}: ${safe.path}: ${safe.message}\n`);
  }

  /** Issues reported but neither printed nor kept. */
  get omittedCount(): number {
    return this.omitted;
  }

  /** The closing line on stderr when some were left out. */
  async end(): Promise<void> {
    if (this.omitted > 0)
      await this.stderr(
        `… and ${this.omitted.toLocaleString('en')} more bad line issue${this.omitted === 1 ? '' : 's'} not shown (--max-bad-lines ${this.max})\n`,
      );
  }
}
