import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

/** Every child process running now, so an interrupted run can end them (see `killAllServiceProcesses`). */
const live = new Set<ChildProcess>();

/** SIGKILL to every service process still running: for a run stopped by Ctrl-C or a time-out. */
export function killAllServiceProcesses(): void {
  for (const child of live) child.kill('SIGKILL');
}

/** One Fieldlink service as its own OS process, restartable, its output kept in a log file. */
export class ServiceProcess {
  private child: ChildProcess | undefined;
  private readonly out: WriteStream;
  private lines: string[] = [];
  starts = 0;
  /** Exits this run did not cause (no SIGKILL or stop of ours): a service that crashed. */
  readonly crashes: string[] = [];
  private expectingExit = false;
  readonly waiters = new Set<{ pattern: RegExp; resolve: (line: string) => void; reject: (error: Error) => void }>();

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly cwd: string,
    logFile: string,
  ) {
    this.out = createWriteStream(logFile, { flags: 'a' });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  start(): void {
    this.starts++;
    this.out.write(`---- start ${this.starts} at ${new Date().toISOString()}\n`);
    const child = spawn(this.command, [...this.args], { cwd: this.cwd, env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    live.add(child);
    const onData = (chunk: Buffer): void => {
      this.out.write(chunk);
      for (const line of chunk.toString().split('\n')) {
        if (line === '') continue;
        this.lines.push(line);
        if (this.lines.length > 2_000) this.lines = this.lines.slice(-1_000);
        for (const w of this.waiters)
          if (w.pattern.test(line)) {
            this.waiters.delete(w);
            w.resolve(line);
          }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code, signal) => {
      live.delete(child);
      this.out.write(`---- exited code=${code} signal=${signal}\n`);
      const why = this.expectingExit
        ? `${this.name} was stopped (code ${code}, signal ${signal})`
        : `${this.name} exited on its own (code ${code}, signal ${signal}) at ${new Date().toISOString()}: ${this.lines.slice(-3).join(' | ').slice(0, 600)}`;
      if (!this.expectingExit) this.crashes.push(why);
      // Whoever waits for a line of this process waits no longer: it will not come.
      for (const w of this.waiters) w.reject(new Error(why));
      this.waiters.clear();
      this.expectingExit = false;
    });
  }

  /** Resolves with the first line (from now on) matching `pattern`, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const waiter = {
        pattern,
        resolve: (line: string) => (clearTimeout(timer), resolve(line)),
        reject: (error: Error) => (clearTimeout(timer), reject(error)),
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms; last lines:\n${this.lines.slice(-15).join('\n')}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** SIGKILL: no clean stop, no last commit, locks left to lapse. */
  kill(): void {
    this.expectingExit = true;
    this.child?.kill('SIGKILL');
  }

  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.expectingExit = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  close(): void {
    this.out.end();
  }
}
