/**
 * Failure injection for tests: wraps a real adapter so chosen calls fail, either before the call
 * (nothing happened) or after it (the effect is stored but the caller sees an error, as when a
 * connection drops on the way back). Calls are numbered across every port wrapped by one
 * schedule, so a property test can pick "the k-th call anywhere fails".
 */
export type FaultTiming = 'before' | 'after';

export class InjectedFault extends Error {
  constructor(where: string, timing: FaultTiming) {
    super(`injected failure ${timing} ${where}`);
    this.name = 'InjectedFault';
  }
}

export class FaultSchedule {
  private calls = 0;
  readonly injected: string[] = [];

  /** `faults` maps a call number (1-based, across all wrapped ports) to when it fails. */
  constructor(private readonly faults: ReadonlyMap<number, FaultTiming> = new Map()) {}

  get callCount(): number {
    return this.calls;
  }

  wrap<T extends object>(target: T, portName: string, methods?: readonly string[]): T {
    return new Proxy(target, {
      get: (obj, prop, receiver) => {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function' || typeof prop !== 'string' || (methods !== undefined && !methods.includes(prop))) {
          return typeof value === 'function' ? value.bind(obj) : value;
        }
        return async (...args: unknown[]) => {
          const n = ++this.calls;
          const timing = this.faults.get(n);
          const where = `${portName}.${prop}`;
          if (timing === 'before') {
            this.injected.push(`${where} before`);
            throw new InjectedFault(where, timing);
          }
          const result: unknown = await (value as (...a: unknown[]) => unknown).apply(obj, args);
          if (timing === 'after') {
            this.injected.push(`${where} after`);
            throw new InjectedFault(where, timing);
          }
          return result;
        };
      },
    });
  }
}
