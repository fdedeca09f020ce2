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

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?(?:Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w:T-])/;
const NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.])/;
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*/;

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
    const rest = text.slice(i);
    const guid = GUID.exec(rest);
    if (guid) {
      tokens.push({ t: 'literal', v: { kind: 'guid', value: guid[0].toLowerCase() }, at: i });
      i += guid[0].length;
      continue;
    }
    const dt = DATETIME.exec(rest) ?? DATE.exec(rest);
    if (dt) {
      const value = Date.parse(dt[0].length === 10 ? `${dt[0]}T00:00:00Z` : dt[0]);
      if (Number.isNaN(value)) throw new ODataSyntaxError(`not a date-time: ${dt[0]}`, i);
      tokens.push({ t: 'literal', v: { kind: 'datetime', value }, at: i });
      i += dt[0].length;
      continue;
    }
    const num = NUMBER.exec(rest);
    if (num) {
      tokens.push({ t: 'literal', v: { kind: 'number', value: Number(num[0]) }, at: i });
      i += num[0].length;
      continue;
    }
    const ident = IDENT.exec(rest);
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
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token => tokens[pos]!;
  const next = (): Token => tokens[pos++]!;
  const describe = (tok: Token): string => (tok.t === 'end' ? 'the end of the filter' : tok.t === 'ident' ? `'${tok.v}'` : tok.t === 'literal' ? 'a literal' : `'${tok.t}'`);
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
      next();
      return { kind: 'not', operand: unary() };
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
      const inner = orExpr();
      expect(')');
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
    if (op.t !== 'ident' || !COMPARISONS.has(op.v)) throw new ODataSyntaxError(`expected a comparison (eq, ne, gt, ge, lt, le) after '${tok.v}' at position ${op.at}, found ${describe(op)}`, op.at);
    return { kind: 'compare', op: op.v as ComparisonOperator, property: tok.v, literal: literal() };
  };

  const tree = orExpr();
  const end = peek();
  if (end.t !== 'end') throw new ODataSyntaxError(`unexpected ${describe(end)} at position ${end.at}`, end.at);
  return tree;
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
