import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';

/** IoT Hub takes device-to-cloud messages up to 256 KB; a recorded line four times that is no message. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** One line of a recording, numbered from 1; a line over the cap is not kept, only its size. */
export type RecordedLine =
  { readonly line: number; readonly text: string } | { readonly line: number; readonly tooLong: { readonly bytes: number; readonly max: number } };

/** Why a recording could not be opened: one line for a person. */
export async function unreadableFile(file: string): Promise<string | undefined> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) return 'is a directory, expected a file';
    if (!info.isFile()) return 'is not a regular file';
    return undefined;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return 'does not exist';
    if (code === 'EACCES' || code === 'EPERM') return 'cannot be read (permission denied)';
    return `cannot be read (${code ?? (e as Error).message})`;
  }
}

/**
 * The lines of a file, streamed: memory stays within one chunk plus one line, whatever the file's
 * size. A UTF-8 byte order mark at the start is dropped, `\r\n` ends a line as `\n` does, and a line
 * longer than `maxLineBytes` is skipped up to its end and handed as `tooLong`, never kept whole.
 */
export async function* readRecordedLines(file: string, options: { readonly maxLineBytes?: number } = {}): AsyncGenerator<RecordedLine> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let parts: Buffer[] = [];
  let bytes = 0;
  let line = 1;
  let first = true;
  const decoder = new StringDecoder('utf8');
  const finish = (): RecordedLine => {
    let result: RecordedLine;
    if (bytes > max) result = { line, tooLong: { bytes, max } };
    else {
      let text = decoder.write(parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes)) + decoder.end();
      if (first && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      result = { line, text };
    }
    first = false;
    parts = [];
    bytes = 0;
    line++;
    return result;
  };
  const keep = (chunk: Buffer): void => {
    // Past the cap only the count goes on.
    if (bytes + chunk.length <= max) parts.push(chunk);
    else parts = [];
    bytes += chunk.length;
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10, start); nl !== -1; nl = chunk.indexOf(10, start)) {
      keep(chunk.subarray(start, nl));
      yield finish();
      start = nl + 1;
    }
    if (start < chunk.length) keep(chunk.subarray(start));
  }
  if (bytes > 0) yield finish();
}
