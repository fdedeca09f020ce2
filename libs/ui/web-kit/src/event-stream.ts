import type { ServerResponse } from 'node:http';
import type { LogPort } from '@fieldlink/ports';

const KEEP_ALIVE_MS = 15_000;
/** What one page may have waiting, written but not yet taken by its socket, before it is cut. */
export const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;

export interface EventStreamOptions {
  /**
   * The most bytes a page may have waiting (written, not yet taken by its connection). A page
   * whose next event would go past it is too far behind: it is disconnected, and its browser
   * reconnects and reads the whole state again (both pages do on every `open`). 1 MiB by default.
   */
  readonly maxBufferedBytes?: number;
  /** Told of each page cut for falling behind (`web.stream-client-cut`). */
  readonly log?: LogPort;
}

/**
 * Server-sent events to every open page: one `text/event-stream` response per page, a comment
 * line every 15 s so proxies keep it open, and the browser's EventSource reconnects by itself.
 * A page that stops reading never makes the server hold more than `maxBufferedBytes` for it:
 * what a socket has not taken stays in its write buffer, and once that would pass the bound the
 * page is disconnected instead of buffering on (memory stays bounded per page).
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly keepAlive: NodeJS.Timeout;
  private readonly maxBufferedBytes: number;
  private cut = 0;

  constructor(private readonly options: EventStreamOptions = {}) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    if (!(Number.isInteger(this.maxBufferedBytes) && this.maxBufferedBytes > 0))
      throw new RangeError(`maxBufferedBytes must be a whole number above 0 (got ${this.maxBufferedBytes}).`);
    this.keepAlive = setInterval(() => this.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    this.keepAlive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Bytes written to the open pages that their connections have not taken yet, summed. */
  get bufferedBytes(): number {
    let sum = 0;
    for (const client of this.clients) sum += client.writableLength;
    return sum;
  }

  /** Pages disconnected so far for falling behind. */
  get slowClientsCut(): number {
    return this.cut;
  }

  open(response: ServerResponse): void {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    response.write('retry: 1000\n\n');
    this.clients.add(response);
    response.on('close', () => this.clients.delete(response));
  }

  send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  close(): void {
    clearInterval(this.keepAlive);
    for (const client of this.clients) client.end();
    this.clients.clear();
  }

  private write(chunk: string): void {
    const bytes = Buffer.byteLength(chunk);
    for (const client of this.clients) {
      // Back-pressure: what the socket has not taken is still in `writableLength`; past the bound the page is cut, not buffered for.
      if (client.writableLength + bytes > this.maxBufferedBytes) this.cutOff(client);
      else client.write(chunk);
    }
  }

  private cutOff(client: ServerResponse): void {
    this.clients.delete(client);
    this.cut++;
    this.options.log?.warn('web.stream-client-cut', {
      bufferedBytes: client.writableLength,
      maxBufferedBytes: this.maxBufferedBytes,
      message: 'a page stopped reading its live updates; disconnected (its browser reconnects and reads the whole state again)',
    });
    client.destroy();
  }
}
