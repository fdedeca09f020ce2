/**
 * The OData `$filter` subset Dataverse clients send: comparisons (eq ne gt ge lt le), and / or /
 * not, parentheses, contains / startswith / endswith, and literals (strings with `''` escapes,
 * numbers, GUIDs, date-times, true / false / null). Parsed into a tree, never pasted into SQL.
 */

export type Literal =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'guid'; readonly value: string }
  | { readonly kind: 'datetime'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'null' };

export type ComparisonOperator = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
export type StringFunction = 'contains' | 'startswith' | 'endswith';

export type FilterNode =
  | { readonly kind: 'compare'; readonly op: ComparisonOperator; readonly property: string; readonly literal: Literal }
  | { readonly kind: 'function'; readonly fn: StringFunction; readonly property: string; readonly literal: Literal }
  | { readonly kind: 'and' | 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'not'; readonly operand: FilterNode };

export class ODataSyntaxError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(message);
    this.name = 'ODataSyntaxError';
  }
}

type Token =
  | { readonly t: 'ident'; readonly v: string; readonly at: number }
  | { readonly t: 'literal'; readonly v: Literal; readonly at: number }
  | { readonly t: '(' | ')' | ',' | '='; readonly at: number }
  | { readonly t: 'end'; readonly at: number };

// Sticky: each matches at the tokenizer's position, without copying the rest of the text.
const GUID = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/y;
const DATETIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/y;
const DATE = /\d{4}-\d{2}-\d{2}(?![\w:T-])/y;
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])/y;
const IDENT = /[A-Za-z_][A-Za-z0-9_]*/y;

/**
 * The longest `$filter` read: Dataverse takes URLs up to 32 KB, and 64 KB for a request inside a
 * `$batch` body (https://learn.microsoft.com/en-us/power-apps/developer/data-platform/webapi/compose-http-requests-handle-errors).
 */
export const MAX_FILTER_LENGTH = 65_536;
/** Parentheses and `not`s nested deeper than this are refused, so no filter can exhaust the stack. */
export const MAX_FILTER_DEPTH = 100;

const at = (pattern: RegExp, text: string, position: number): RegExpExecArray | null => {
  pattern.lastIndex = position;
  return pattern.exec(text);
};

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (c === '(' || c === ')' || c === ',' || c === '=') {
      tokens.push({ t: c, at: i });
      i++;
      continue;
    }
    if (c === "'") {
      const start = i;
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new ODataSyntaxError(`unterminated string literal starting at position ${start}`, start);
        const ch = text[i]!;
        if (ch === "'") {
          if (text[i + 1] === "'") {
            value += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += ch;
        i++;
      }
      tokens.push({ t: 'literal', v: { kind: 'string', value }, at: start });
      continue;
    }
    const guid = at(GUID, text, i);
    if (guid) {
      tokens.push({ t: 'literal', v: { kind: 'guid', value: guid[0].toLowerCase() }, at: i });
      i += guid[0].length;
      continue;
    }
    const dt = at(DATETIME, text, i) ?? at(DATE, text, i);
    if (dt) {
      const value = Date.parse(dt[0].length === 10 ? `${dt[0]}T00:00:00Z` : dt[0]);
      if (Number.isNaN(value)) throw new ODataSyntaxError(`not a date-time: ${dt[0]}`, i);
      tokens.push({ t: 'literal', v: { kind: 'datetime', value }, at: i });
      i += dt[0].length;
      continue;
    }
    const num = at(NUMBER, text, i);
    if (num) {
      if (!Number.isFinite(Number(num[0]))) throw new ODataSyntaxError(`the number ${num[0].slice(0, 40)} at position ${i} is out of range`, i);
      tokens.push({ t: 'literal', v: { kind: 'number', value: Number(num[0]) }, at: i });
      i += num[0].length;
      continue;
    }
    const ident = at(IDENT, text, i);
    if (ident) {
      const word = ident[0];
      if (word === 'true' || word === 'false') tokens.push({ t: 'literal', v: { kind: 'bool', value: word === 'true' }, at: i });
      else if (word === 'null') tokens.push({ t: 'literal', v: { kind: 'null' }, at: i });
      else tokens.push({ t: 'ident', v: word, at: i });
      i += word.length;
      continue;
    }
    throw new ODataSyntaxError(`unexpected character ${JSON.stringify(c)} at position ${i}`, i);
  }
  tokens.push({ t: 'end', at: text.length });
  return tokens;
}

const COMPARISONS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);
const FUNCTIONS = new Set(['contains', 'startswith', 'endswith']);

/** Parses a `$filter` value; throws ODataSyntaxError naming the position of what is wrong. */
export function parseFilter(text: string): FilterNode {
  if (text.length > MAX_FILTER_LENGTH)
    throw new ODataSyntaxError(`the filter is ${text.length} characters long; at most ${MAX_FILTER_LENGTH} are read`, MAX_FILTER_LENGTH);
  const tokens = tokenize(text);
  let pos = 0;
  let depth = 0;
  const deeper = (tok: Token): void => {
    if (++depth > MAX_FILTER_DEPTH)
      throw new ODataSyntaxError(`the filter nests parentheses or not deeper than ${MAX_FILTER_DEPTH} levels at position ${tok.at}`, tok.at);
  };
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const describe = (tok: Token): string =>
    tok.t === 'end' ? 'the end of the filter' : tok.t === 'ident' ? `'${tok.v}'` : tok.t === 'literal' ? 'a literal' : `'${tok.t}'`;
  const expect = (t: Token['t']): Token => {
    const tok = next();
    if (tok.t !== t) throw new ODataSyntaxError(`expected '${t}' at position ${tok.at}, found ${describe(tok)}`, tok.at);
    return tok;
  };
  const isWord = (tok: Token, word: string): boolean => tok.t === 'ident' && tok.v === word;

  const orExpr = (): FilterNode => {
    let left = andExpr();
    while (isWord(peek(), 'or')) {
      next();
      left = { kind: 'or', left, right: andExpr() };
    }
    return left;
  };
  const andExpr = (): FilterNode => {
    let left = unary();
    while (isWord(peek(), 'and')) {
      next();
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): FilterNode => {
    if (isWord(peek(), 'not')) {
      deeper(next());
      const operand = unary();
      depth--;
      return { kind: 'not', operand };
    }
    return primary();
  };
  const literal = (): Literal => {
    const tok = next();
    if (tok.t !== 'literal') throw new ODataSyntaxError(`expected a literal at position ${tok.at}, found ${describe(tok)}`, tok.at);
    return tok.v;
  };
  const primary = (): FilterNode => {
    const tok = next();
    if (tok.t === '(') {
      deeper(tok);
      const inner = orExpr();
      expect(')');
      depth--;
      return inner;
    }
    if (tok.t !== 'ident') throw new ODataSyntaxError(`expected a property or '(' at position ${tok.at}, found ${describe(tok)}`, tok.at);
    if (FUNCTIONS.has(tok.v) && peek().t === '(') {
      next();
      const prop = expect('ident') as Extract<Token, { t: 'ident' }>;
      expect(',');
      const lit = literal();
      expect(')');
      return { kind: 'function', fn: tok.v as StringFunction, property: prop.v, literal: lit };
    }
    const op = next();
    if (op.t !== 'ident' || !COMPARISONS.has(op.v))
      throw new ODataSyntaxError(`expected a comparison (eq, ne, gt, ge, lt, le) after '${tok.v}' at position ${op.at}, found ${describe(op)}`, op.at);
    return { kind: 'compare', op: op.v as ComparisonOperator, property: tok.v, literal: literal() };
  };

  const tree = orExpr();
  const end = peek();
  if (end.t !== 'end') throw new ODataSyntaxError(`unexpected ${describe(end)} at position ${end.at}`, end.at);
  return tree;
}

export type FilterParse = { readonly ok: true; readonly value: FilterNode } | { readonly ok: false; readonly error: ODataSyntaxError };

/** parseFilter as a value: the tree, or the syntax error; never throws, whatever the text. */
export function tryParseFilter(text: string): FilterParse {
  try {
    return { ok: true, value: parseFilter(text) };
  } catch (e) {
    if (e instanceof ODataSyntaxError) return { ok: false, error: e };
    return { ok: false, error: new ODataSyntaxError(`the filter cannot be read: ${e instanceof Error ? e.message : String(e)}`, 0) };
  }
}

/** `name='v',other=1` or a bare GUID: the key of a record in a URL. */
export type RecordKey = { readonly kind: 'id'; readonly id: string } | { readonly kind: 'alternate'; readonly values: ReadonlyMap<string, Literal> };

export function parseRecordKey(text: string): RecordKey {
  const tokens = tokenize(text);
  if (tokens.length === 2 && tokens[0]!.t === 'literal' && tokens[0]!.v.kind === 'guid') return { kind: 'id', id: tokens[0]!.v.value };
  const values = new Map<string, Literal>();
  let pos = 0;
  for (;;) {
    const name = tokens[pos++]!;
    if (name.t !== 'ident') throw new ODataSyntaxError(`expected a key property at position ${name.at}`, name.at);
    const eq = tokens[pos++]!;
    if (eq.t !== '=') throw new ODataSyntaxError(`expected '=' after '${name.v}' at position ${eq.at}`, eq.at);
    const lit = tokens[pos++]!;
    if (lit.t !== 'literal') throw new ODataSyntaxError(`expected a literal for key '${name.v}'`, lit.at);
    values.set(name.v, lit.v);
    const sep = tokens[pos++]!;
    if (sep.t === 'end') break;
    if (sep.t !== ',') throw new ODataSyntaxError(`expected ',' at position ${sep.at}`, sep.at);
  }
  return { kind: 'alternate', values };
}
