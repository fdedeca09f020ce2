// Flows 3–6 (ingest state): what a stored checkpoint, journal entry or part must hold, checked on read.
import { describeIssues, err, ok, type Result, type ValidationIssue } from '@fieldlink/domain';
import { toValidationIssues } from '@fieldlink/ports';
import { z } from 'zod';

/*
 * A partition's stored state is read back from a store other processes and other versions write
 * (a SQLite file, a blob): like every wire message it is validated on read, never cast. A blob
 * that does not hold what its format says is refused with the path of the field and what was
 * expected there (`StoredStateError`), and the ingest then starts the partition afresh.
 */

const time = z.number().refine(Number.isFinite, 'expected a finite number');
const readings = z.record(z.string(), z.number().refine(Number.isFinite, 'expected a finite reading'));

/** A minute window still open, as stored (see `OpenMinuteWindow`). */
export const storedWindowSchema = z
  .object({
    deviceId: z.string(),
    readingType: z.string(),
    windowEnd: time,
    count: z.number(),
    min: z.number(),
    max: z.number(),
    sum: z.number(),
    peakToken: z.string().optional(),
    peakTime: time.optional(),
  })
  .refine((w) => w.peakToken === undefined || w.peakTime !== undefined, { message: 'expected peakTime with peakToken', path: ['peakTime'] });

const aggregates = z.object({ closedThrough: z.number().nullable(), windows: z.array(storedWindowSchema) });

/** The part of a checkpoint or journal entry every format shares: position, rule state (the evaluator's to read), windows, devices. */
export const storedStateSchema = z.object({
  evaluator: z.string(),
  lastSequence: z.number(),
  latestTime: z.number(),
  rules: z.unknown(),
  aggregates,
  // States saved before last readings (or activity) were kept have none: they fill again with the next readings.
  lastReadings: z.record(z.string(), readings).default({}),
  lastActivity: z.record(z.string(), time).optional(),
  /** How many parts the state is written in (the key holds the first); 1 when absent. */
  parts: z.int().min(1).default(1),
});
export type StoredState = z.infer<typeof storedStateSchema>;

/** A checkpoint: the whole state, in one of the formats written so far. */
export const storedCheckpointSchema = z.discriminatedUnion('format', [
  storedStateSchema.extend({ format: z.literal('fieldlink.telemetry-ingest/1') }),
  storedStateSchema.extend({ format: z.literal('fieldlink.telemetry-ingest/2'), epoch: z.string() }),
  storedStateSchema.extend({ format: z.literal('fieldlink.telemetry-ingest/3'), epoch: z.string(), slot: z.union([z.literal(0), z.literal(1)]) }),
  // The rule state in pieces: `rules` holds the key's piece, and each part may hold one.
  storedStateSchema.extend({ format: z.literal('fieldlink.telemetry-ingest/4'), epoch: z.string(), slot: z.union([z.literal(0), z.literal(1)]) }),
]);
export type StoredCheckpoint = z.infer<typeof storedCheckpointSchema>;

/** A journal entry: what one commit changed, after the checkpoint of `epoch`. */
export const storedEntrySchema = z.discriminatedUnion('format', [
  storedStateSchema.extend({ format: z.literal('fieldlink.telemetry-ingest.journal/1'), epoch: z.string(), index: z.int().min(0) }),
  storedStateSchema.extend({ format: z.literal('fieldlink.telemetry-ingest.journal/2'), epoch: z.string(), index: z.int().min(0) }),
]);

/** Which checkpoint an entry follows: read first, so an entry of another checkpoint ends the chain rather than counting as corrupt. */
export const entryOwnerSchema = z.object({ format: z.string(), epoch: z.unknown(), index: z.unknown() });

/** Part k (1…) of a checkpoint or entry whose key holds part 0. */
export const storedPartSchema = z.object({
  format: z.literal('fieldlink.telemetry-ingest.part/1'),
  epoch: z.string().optional(),
  index: z.int().optional(),
  part: z.int().min(1),
  windows: z.array(storedWindowSchema),
  lastReadings: z.record(z.string(), readings),
  lastActivity: z.record(z.string(), time),
  /** A piece of a checkpoint's rule state (format `fieldlink.telemetry-ingest/4`): entries for the rules engine to read. */
  rules: z.array(z.unknown()).optional(),
});

/** A stored blob of a partition's state that does not hold what it should. */
export interface StoredStateError {
  readonly code: 'StoredStateCorrupt';
  /** The store key of the blob. */
  readonly key: string;
  readonly issues: readonly ValidationIssue[];
  /** `<key>: <path>: <what was expected>; …`, for logs. */
  readonly message: string;
}

export const storedStateError = (key: string, issues: readonly ValidationIssue[]): StoredStateError => ({
  code: 'StoredStateCorrupt',
  key,
  issues,
  message: `${key}: ${describeIssues(issues)}`,
});

/** Parses a stored blob: its value, or the issues with their paths. */
export function parseStored<S extends z.ZodType>(
  schema: S,
  stored: unknown,
  prefix: ReadonlyArray<string | number> = [],
): Result<z.infer<S>, ValidationIssue[]> {
  const parsed = schema.safeParse(stored);
  return parsed.success ? ok(parsed.data) : err(toValidationIssues(parsed.error, prefix));
}
