import { randomUUID } from 'node:crypto';
import type { IdPort } from '@fieldlink/ports';

export const randomIds: IdPort = { newId: () => randomUUID() };

/** Predictable ids (`prefix-1`, `prefix-2`, …) for tests. */
export class SequentialIds implements IdPort {
  private n = 0;
  constructor(private readonly prefix = 'id') {}
  newId(): string {
    return `${this.prefix}-${++this.n}`;
  }
}
