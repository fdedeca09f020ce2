/**
 * Where rule state (windows, timers, suppression memory) survives a restart or a partition
 * moving to another instance. The state is the rules engine's own serialisable snapshot.
 */
export interface RuleStateStorePort {
  /** The snapshot saved under `key` (e.g. a telemetry partition id), or undefined. */
  load(key: string): Promise<unknown>;
  /** Replaces the snapshot under `key`. */
  save(key: string, snapshot: unknown): Promise<void>;
}
