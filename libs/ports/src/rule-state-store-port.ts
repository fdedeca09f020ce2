/**
 * Where rule state (windows, timers, suppression memory) survives a restart or a partition
 * moving to another instance. The state is the rules engine's own serialisable snapshot.
 */
export interface RuleStateStorePort {
  /** The snapshot saved under `key` (e.g. a telemetry partition id), or undefined. */
  load(key: string): Promise<unknown>;
  /**
   * Replaces the snapshot under `key`. A store that can tell may refuse to overwrite what another
   * writer saved since it last read the key (another instance took the partition over): it then
   * rejects with an error whose `code` is `RULE_STATE_CONFLICT`.
   */
  save(key: string, snapshot: unknown): Promise<void>;
}

/** The `code` of a `RuleStateStorePort.save` refused because another writer changed the key. */
export const RULE_STATE_CONFLICT = 'RuleStateConflict';

export const isRuleStateConflict = (error: unknown): boolean => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === RULE_STATE_CONFLICT;
