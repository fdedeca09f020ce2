import { FieldlinkError } from '@fieldlink/domain';

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
   * rejects with a `RuleStateError` whose `code` is `RuleStateConflict`.
   */
  save(key: string, snapshot: unknown): Promise<void>;
  /**
   * Optional: the same as `save(key, JSON.parse(json))`, for a caller that holds the snapshot as
   * JSON text already (`JSON.stringify`'s output; ingest on a worker thread serialises there). A
   * store that keeps text keeps it as it is, with no parse and no second serialisation.
   */
  saveJson?(key: string, json: string): Promise<void>;
  /**
   * Optional: the snapshot under `key` as the JSON text the store keeps, not parsed, or undefined;
   * a read of the key as `load` is (a later `save` over it is refused just as after `load`, where
   * the store can tell). For a caller that reads a key only so that its next save is checked
   * (the text is dropped), or that parses elsewhere: ingest on a worker thread, whose store is on
   * the main thread, has the text cross to it rather than the snapshot's objects.
   */
  loadJson?(key: string): Promise<string | undefined>;
}

/** Why a `RuleStateStorePort` call failed in a way its caller acts upon. */
export type RuleStateErrorCode =
  /** A save refused because another writer changed the key since this store read it (another instance took the partition over). */
  'RuleStateConflict';

/** The `code` of a `RuleStateStorePort.save` refused because another writer changed the key. */
export const RULE_STATE_CONFLICT: RuleStateErrorCode = 'RuleStateConflict';

export class RuleStateError extends FieldlinkError<RuleStateErrorCode> {
  constructor(code: RuleStateErrorCode, message: string, options: { readonly cause?: unknown } = {}) {
    super(code, message, options);
    this.name = 'RuleStateError';
  }

  /** The save of `key` refused: `where` names the store's own place for it (a blob, a row), if any. */
  static conflict(key: string, where = ''): RuleStateError {
    return new RuleStateError(
      RULE_STATE_CONFLICT,
      `Rule state '${key}'${where === '' ? '' : ` (${where})`} was changed by another writer since this store read it; load it again before saving.`,
    );
  }
}

export const isRuleStateConflict = (error: unknown): error is RuleStateError => error instanceof RuleStateError && error.code === RULE_STATE_CONFLICT;
