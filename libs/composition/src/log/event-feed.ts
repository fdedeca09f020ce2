import { redactUrlsIn } from '../config/redact-url.js';
import type { LogFields, LogPort } from '@fieldlink/ports';

export type LogLevel = 'info' | 'warn' | 'error';

/** One log event as subscribers (the console's server-sent events) receive it. */
export interface FeedEvent {
  /** Increases by one per event: a client that reconnects can tell what it missed. */
  readonly seq: number;
  /** Epoch ms. */
  readonly time: number;
  readonly level: LogLevel;
  readonly event: string;
  readonly fields: LogFields;
}

export type FeedListener = (event: FeedEvent) => void;

/**
 * The log of a running stack, fanned out: every event goes to the terminal log (if any) and to
 * each subscriber. A subscriber that throws is dropped from nothing and breaks nothing: its error
 * is counted and the others still get the event. The last `keep` events are kept for late joiners.
 */
export class EventFeed implements LogPort {
  private readonly listeners = new Set<FeedListener>();
  private readonly recentEvents: FeedEvent[] = [];
  private seq = 0;
  private failures = 0;

  constructor(
    private readonly sink?: LogPort,
    private readonly options: { readonly keep?: number; readonly now?: () => number } = {},
  ) {}

  info(event: string, fields?: LogFields): void {
    this.emit('info', event, fields);
  }
  warn(event: string, fields?: LogFields): void {
    this.emit('warn', event, fields);
  }
  error(event: string, fields?: LogFields): void {
    this.emit('error', event, fields);
  }

  /** Every event from now on; returns the unsubscribe function. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** The most recent events, oldest first. */
  recent(): readonly FeedEvent[] {
    return [...this.recentEvents];
  }

  /** How many times a subscriber threw. */
  get listenerFailures(): number {
    return this.failures;
  }

  private emit(level: LogLevel, event: string, given: LogFields = {}): void {
    // No password of a URL reaches the terminal, the pages or a log file.
    const fields = redactUrlsIn(given);
    this.sink?.[level](event, fields);
    const entry: FeedEvent = { seq: ++this.seq, time: (this.options.now ?? Date.now)(), level, event, fields };
    this.recentEvents.push(entry);
    if (this.recentEvents.length > (this.options.keep ?? 200)) this.recentEvents.shift();
    for (const listener of [...this.listeners]) {
      try {
        listener(entry);
      } catch {
        this.failures++;
      }
    }
  }
}
