import type { LogFields, LogPort } from '@fieldlink/ports';
import { redactUrlsIn } from '../config/redact-url.js';

type Writer = (line: string) => void;

const color = (code: number, text: string, enabled: boolean): string => (enabled ? `\u001b[${code}m${text}\u001b[0m` : text);

/**
 * The log as a person reads it in a terminal: time, event, the correlation id's first 8
 * characters, then the fields. `--json` switches to one JSON object per line for machines.
 */
export class TerminalLog implements LogPort {
  constructor(
    private readonly write: Writer = (line) => process.stdout.write(`${line}\n`),
    private readonly options: { json?: boolean; colors?: boolean } = {},
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

  private emit(level: 'info' | 'warn' | 'error', event: string, given: LogFields = {}): void {
    const fields = redactUrlsIn(given);
    const time = new Date().toISOString();
    if (this.options.json) {
      this.write(JSON.stringify({ time, level, event, ...fields }));
      return;
    }
    const colors = this.options.colors ?? false;
    const { correlationId, ...rest } = fields;
    const levelColor =
      level === 'error' ? 31 : level === 'warn' ? 33 : event.startsWith('crm.') ? 32 : event.startsWith('alert.') ? 35 : event.startsWith('command.') ? 34 : 36;
    const corr = typeof correlationId === 'string' ? color(90, `[${correlationId.slice(0, 8)}]`, colors) + ' ' : '';
    const details = Object.entries(rest)
      .filter(([, v]) => v !== undefined) // an undefined field is an absent one, as in the JSON form
      .map(([k, v]) => `${k}=${typeof v === 'string' && /\s/.test(v) ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    this.write(`${color(90, time.slice(11, 23), colors)} ${color(levelColor, event.padEnd(24), colors)} ${corr}${details}`);
  }
}
