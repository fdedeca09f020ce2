import type { TelemetryEvent } from '../../telemetry/telemetry-event.js';
import { ClearWhen, FLAGS, HEADER, Kind, LAST_MATCH, LAST_RAISE, OPEN, type CompiledRule, type CompiledRuleSet } from './compiled-rule.js';
import { NEVER } from './never.js';
import { timeToken, type RuleOutcome } from './rule-outcome.js';
import { addDeviceSlot, type HeldReading, type RulesEngineState } from './rules-engine-state.js';
import { windowAccept, windowAdvance } from './window-aggregate.js';

const NO_OUTCOMES: readonly RuleOutcome[] = Object.freeze([]);

// What a kind made of a reading or an emission.
const NO_MATCH = 0;
const MATCH = 1;
const UNDECIDED = 2;

/**
 * The rules engine. It holds only the compiled rules; everything it remembers is in the
 * `RulesEngineState` passed to each call, so evaluation is a function of (rules, state, reading
 * or time) giving (the state, changed in place, and the outcomes). No clock, no randomness: the
 * same calls on the same state give the same outcomes, and a state restored from a snapshot
 * carries on exactly where the original would have.
 *
 * - `evaluate(state, event, deviceType)`: one reading; event time is its enqueued time, put
 *   through the event-time policy.
 * - `advanceTo(state, time)`: the clock moved; windows end, silences are noticed, quiet alerts clear.
 *
 * Outcomes come back as a frozen empty array when there are none, so a quiet reading allocates nothing.
 */
export class RulesEngine {
  private out: RuleOutcome[] | undefined;
  /** Window emissions as (time, value) pairs; reused across calls. */
  private readonly pairs: number[] = [];

  constructor(readonly ruleSet: CompiledRuleSet) {}

  evaluate(state: RulesEngineState, event: TelemetryEvent, deviceType: string): readonly RuleOutcome[] {
    this.out = undefined;
    const policy = this.ruleSet.eventTime;
    let slot = state.slotOf.get(event.deviceId);
    if (slot === undefined) slot = addDeviceSlot(state, this.ruleSet, event.deviceId, deviceType);
    else if (state.deviceTypes[slot] !== deviceType) {
      state.deviceTypes[slot] = deviceType;
      state.rulesOfSlot[slot] = this.ruleSet.rulesFor(event.deviceId, deviceType);
    }
    let t = event.enqueuedTime;
    const watermark = state.clock - policy.lateArrivalToleranceMs;
    if (t < watermark) {
      if (policy.action === 'drop')
        return [{ type: 'dropped', deviceId: event.deviceId, eventToken: event.eventToken, reason: 'late', eventTime: t, acceptedFrom: watermark }];
      t = watermark;
    }
    const latest = state.lastTime[slot]!;
    const tolerance = policy.outOfOrderToleranceMs;
    if (t < latest - tolerance) {
      if (policy.action === 'drop')
        return [
          { type: 'dropped', deviceId: event.deviceId, eventToken: event.eventToken, reason: 'outOfOrder', eventTime: t, acceptedFrom: latest - tolerance },
        ];
      t = latest - tolerance;
    }
    if (tolerance === 0) {
      state.lastTime[slot] = t;
      this.apply(state, slot, event, deviceType, t);
    } else {
      if (t > latest) state.lastTime[slot] = t;
      hold(state, slot, { time: t, deviceType, event });
      this.release(state, slot, state.lastTime[slot]! - tolerance, true);
    }
    return this.out ?? NO_OUTCOMES;
  }

  advanceTo(state: RulesEngineState, time: number): readonly RuleOutcome[] {
    this.out = undefined;
    if (!(time > state.clock)) return NO_OUTCOMES;
    state.clock = time;
    const watermark = time - this.ruleSet.eventTime.lateArrivalToleranceMs;
    this.releaseAll(state, watermark);
    if (!this.ruleSet.hasTimeDriven) return this.out ?? NO_OUTCOMES;
    for (const [deviceId, slot] of state.slotOf) {
      const deviceType = state.deviceTypes[slot]!;
      for (const rule of state.rulesOfSlot[slot]!) {
        if (!rule.timeDriven) continue;
        const s = state.ruleStates[rule.index]![slot];
        if (s === undefined) continue;
        if (rule.kind === Kind.window) {
          const pairs = this.pairs;
          pairs.length = 0;
          windowAdvance(rule.window!, rule.aggregate, s, HEADER, watermark, pairs);
          this.judgeEmissions(rule, s, deviceId, deviceType, undefined);
        } else if (rule.kind === Kind.absence && s[HEADER + 1] === 1 && watermark > s[HEADER]! + rule.forMs) {
          const at = s[HEADER]! + rule.forMs;
          s[HEADER + 1] = 0;
          this.quietClear(rule, s, deviceId, at);
          this.judge(rule, s, deviceId, deviceType, MATCH, rule.forMs, rule.forMs, at, timeToken(rule.id, deviceId, at));
        }
        this.quietClear(rule, s, deviceId, watermark);
      }
    }
    return this.out ?? NO_OUTCOMES;
  }

  /**
   * Releases the held readings of every slot stamped before the watermark, in time order across
   * devices (ties by slot, then arrival): an order that depends only on the state, so a state
   * restored from its snapshot releases them exactly as the one it was taken from.
   */
  private releaseAll(state: RulesEngineState, watermark: number): void {
    const ready: Array<{ readonly slot: number; readonly reading: HeldReading }> = [];
    for (const [slot, held] of state.held) {
      let n = 0;
      while (n < held.length && held[n]!.time < watermark) n++;
      if (n === 0) continue;
      for (const reading of held.splice(0, n)) ready.push({ slot, reading });
      if (held.length === 0) state.held.delete(slot);
    }
    // Stable: readings of one slot keep their order.
    ready.sort((a, b) => a.reading.time - b.reading.time || a.slot - b.slot);
    for (const { slot, reading } of ready) this.apply(state, slot, reading.event, reading.deviceType, reading.time);
  }

  /** Releases, in time order, the held readings of a slot stamped at or before (or, for the watermark, before) `bound`. */
  private release(state: RulesEngineState, slot: number, bound: number, inclusive: boolean): void {
    const held = state.held.get(slot);
    if (held === undefined) return;
    let n = 0;
    while (n < held.length && (inclusive ? held[n]!.time <= bound : held[n]!.time < bound)) n++;
    if (n === 0) return;
    const ready = held.splice(0, n);
    if (held.length === 0) state.held.delete(slot);
    for (const h of ready) this.apply(state, slot, h.event, h.deviceType, h.time);
  }

  private apply(state: RulesEngineState, slot: number, event: TelemetryEvent, deviceType: string, t: number): void {
    const rules = state.rulesOfSlot[slot]!;
    const deviceId = event.deviceId;
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i]!;
      const states = state.ruleStates[rule.index]!;
      let s = states[slot];
      if (rule.kind === Kind.absence) {
        if (rule.reading !== undefined && event.readings[rule.reading] === undefined) continue;
        if (s === undefined) states[slot] = s = rule.newState();
        // A silence the watermark would have passed before this reading came: raised now, as
        // `advanceTo` would have raised it, so the outcome does not depend on how often time was advanced.
        if (s[HEADER + 1] === 1 && s[HEADER] !== NEVER && t - this.ruleSet.eventTime.lateArrivalToleranceMs > s[HEADER]! + rule.forMs) {
          const at = s[HEADER]! + rule.forMs;
          s[HEADER + 1] = 0;
          this.quietClear(rule, s, deviceId, at);
          this.judge(rule, s, deviceId, deviceType, MATCH, rule.forMs, rule.forMs, at, timeToken(rule.id, deviceId, at));
        }
        this.quietClear(rule, s, deviceId, t);
        s[HEADER] = t;
        if (s[HEADER + 1] === 0) {
          s[HEADER + 1] = 1;
          this.judge(rule, s, deviceId, deviceType, NO_MATCH, 0, rule.forMs, t, event.eventToken);
        }
        continue;
      }
      const v = event.readings[rule.reading!];
      if (v === undefined) continue;
      if (rule.kind === Kind.threshold) {
        const threshold = rule.condition!.thresholdFor(deviceId, deviceType);
        const matched = rule.condition!.test(v, threshold);
        // A threshold rule with nothing open has nothing to remember about a reading that does not match.
        if (s === undefined) {
          if (!matched) continue;
          states[slot] = s = rule.newState();
        }
        this.quietClear(rule, s, deviceId, t);
        this.judge(rule, s, deviceId, deviceType, matched ? MATCH : NO_MATCH, v, threshold, t, event.eventToken);
        continue;
      }
      if (s === undefined) states[slot] = s = rule.newState();
      this.quietClear(rule, s, deviceId, t);
      switch (rule.kind) {
        case Kind.duration: {
          const threshold = rule.condition!.thresholdFor(deviceId, deviceType);
          let verdict = NO_MATCH;
          if (rule.condition!.test(v, threshold)) {
            if (s[HEADER] === NEVER) s[HEADER] = t;
            verdict = t - s[HEADER]! >= rule.forMs ? MATCH : UNDECIDED;
          } else s[HEADER] = NEVER;
          this.judge(rule, s, deviceId, deviceType, verdict, v, threshold, t, event.eventToken);
          break;
        }
        case Kind.repeating: {
          const threshold = rule.condition!.thresholdFor(deviceId, deviceType);
          let verdict = NO_MATCH;
          if (rule.condition!.test(v, threshold)) {
            if (s[HEADER]! < rule.count) s[HEADER]! += 1;
            verdict = s[HEADER]! >= rule.count ? MATCH : UNDECIDED;
          } else s[HEADER] = 0;
          this.judge(rule, s, deviceId, deviceType, verdict, v, threshold, t, event.eventToken);
          break;
        }
        case Kind.window: {
          const pairs = this.pairs;
          pairs.length = 0;
          windowAccept(rule.window!, rule.aggregate, s, HEADER, t, v, pairs);
          this.judgeEmissions(rule, s, deviceId, deviceType, rule.window!.type === 'sliding' ? event.eventToken : undefined);
          break;
        }
        case Kind.rateOfChange: {
          // (time, value) pairs of the readings within `withinMs`, oldest first.
          let drop = 0;
          while (HEADER + drop < s.length && t - s[HEADER + drop]! > rule.forMs) drop += 2;
          if (drop > 0) s.splice(HEADER, drop);
          let min = Infinity;
          let max = -Infinity;
          for (let j = HEADER + 1; j < s.length; j += 2) {
            const p = s[j]!;
            if (p < min) min = p;
            if (p > max) max = p;
          }
          s.push(t, v);
          const rise = v - min > rule.change;
          const fall = max - v > rule.change;
          const matched = rule.direction === 'rise' ? rise : rule.direction === 'fall' ? fall : rise || fall;
          this.judge(rule, s, deviceId, deviceType, matched ? MATCH : NO_MATCH, v, rule.change, t, event.eventToken);
          break;
        }
        case Kind.anomaly: {
          const at = HEADER + 2;
          const n = s[HEADER]!;
          let verdict = UNDECIDED;
          let bound: number | null = null;
          if (n >= rule.minHistory) {
            let sum = 0;
            for (let j = 0; j < n; j++) sum += s[at + j]!;
            const mean = sum / n;
            let squares = 0;
            for (let j = 0; j < n; j++) squares += (s[at + j]! - mean) ** 2;
            const spread = rule.deviations * Math.sqrt(squares / n);
            const spike = v - mean > spread;
            const dip = mean - v > spread;
            verdict = (rule.direction === 'spike' ? spike : rule.direction === 'dip' ? dip : spike || dip) ? MATCH : NO_MATCH;
            bound = dip && rule.direction !== 'spike' ? mean - spread : mean + spread;
          }
          const next = s[HEADER + 1]!;
          s[at + next] = v;
          s[HEADER + 1] = (next + 1) % rule.history;
          if (n < rule.history) s[HEADER] = n + 1;
          this.judge(rule, s, deviceId, deviceType, verdict, v, bound, t, event.eventToken);
          break;
        }
      }
    }
  }

  /** Judges each window emission of this call, in time order. The last one may carry the reading's token. */
  private judgeEmissions(rule: CompiledRule, s: number[], deviceId: string, deviceType: string, lastToken: string | undefined): void {
    const pairs = this.pairs;
    if (pairs.length === 0) return;
    for (let j = 0; j < pairs.length; j += 2) {
      const time = pairs[j]!;
      const value = pairs[j + 1]!;
      const threshold = rule.condition!.thresholdFor(deviceId, deviceType);
      const token = lastToken !== undefined && j === pairs.length - 2 ? lastToken : timeToken(rule.id, deviceId, time);
      this.quietClear(rule, s, deviceId, time);
      this.judge(rule, s, deviceId, deviceType, rule.condition!.test(value, threshold) ? MATCH : NO_MATCH, value, threshold, time, token);
    }
  }

  /** Clears an open alert whose condition has not recurred for the quiet time before `now`. */
  private quietClear(rule: CompiledRule, s: number[], deviceId: string, now: number): void {
    if (rule.clearWhen !== ClearWhen.quiet || (s[FLAGS]! & OPEN) === 0) return;
    const at = s[LAST_MATCH]! + rule.quietMs;
    if (now > at) this.clear(rule, s, deviceId, at, timeToken(rule.id, deviceId, at));
  }

  /** Clears, then suppression, then the raise: the gate every kind's verdict goes through. */
  private judge(
    rule: CompiledRule,
    s: number[],
    deviceId: string,
    deviceType: string,
    verdict: number,
    value: number,
    threshold: number | null,
    time: number,
    eventToken: string,
  ): void {
    if ((s[FLAGS]! & OPEN) !== 0) {
      if (
        rule.clearWhen === ClearWhen.conditionFalse
          ? verdict === NO_MATCH
          : rule.clearWhen === ClearWhen.condition && rule.clearCondition!.test(value, rule.clearCondition!.thresholdFor(deviceId, deviceType))
      ) {
        this.clear(rule, s, deviceId, time, eventToken);
      }
    }
    if (verdict !== MATCH) return;
    s[LAST_MATCH] = time;
    let suppressed = rule.identicalMs > 0 && identicalWithin(s, rule.fixedSize, value, time, rule.identicalMs);
    if (rule.singleOpen && (s[FLAGS]! & OPEN) !== 0) suppressed = true;
    if (rule.cooldownMs > 0 && time - s[LAST_RAISE]! < rule.cooldownMs) suppressed = true;
    if (suppressed) return;
    s[LAST_RAISE] = time;
    if (rule.clearWhen !== ClearWhen.never) s[FLAGS] = s[FLAGS]! | OPEN;
    (this.out ??= []).push({
      type: 'alert',
      ruleId: rule.id,
      ruleKind: rule.kindName,
      severity: rule.severity,
      deviceId,
      deviceType,
      readingType: rule.reading ?? '',
      reading: value,
      threshold: threshold !== null && threshold === threshold ? threshold : null,
      ruleOutput: rule.output,
      eventToken,
      time,
    });
  }

  private clear(rule: CompiledRule, s: number[], deviceId: string, time: number, eventToken: string): void {
    s[FLAGS] = s[FLAGS]! & ~OPEN;
    (this.out ??= []).push({ type: 'clear', ruleId: rule.id, deviceId, time, eventToken });
  }
}

/**
 * The CFS suppression (`LAG(...) OVER (PARTITION BY DeviceId, Reading, ReadingType LIMIT
 * DURATION(minute, 1)) IS NULL`): whether this device's previous match of the same value is less
 * than `within` ago. Records this match. (value, time) pairs from `from` on; pairs too old to
 * suppress anything are dropped, so the list holds at most the distinct values of one window.
 */
function identicalWithin(s: number[], from: number, value: number, time: number, within: number): boolean {
  let write = from;
  let seen = false;
  let recent = false;
  for (let read = from; read < s.length; read += 2) {
    const v = s[read]!;
    let at = s[read + 1]!;
    if (v === value) {
      seen = true;
      recent = time - at < within;
      at = time;
    } else if (time - at >= within) continue;
    s[write] = v;
    s[write + 1] = at;
    write += 2;
  }
  if (!seen) {
    if (write < s.length) {
      s[write] = value;
      s[write + 1] = time;
      write += 2;
    } else {
      s.push(value, time);
      write = s.length;
    }
  }
  if (write < s.length) s.length = write;
  return recent;
}

function hold(state: RulesEngineState, slot: number, reading: HeldReading): void {
  let held = state.held.get(slot);
  if (held === undefined) state.held.set(slot, (held = []));
  let at = held.length;
  // Stable: a reading goes after every held one with the same time.
  while (at > 0 && held[at - 1]!.time > reading.time) at--;
  held.splice(at, 0, reading);
}
