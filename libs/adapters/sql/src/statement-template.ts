import type BetterSqlite3 from 'better-sqlite3';
import type { CompiledQuery } from 'kysely';

/** A statement compiled once by Kysely: its SQL, and which named value each parameter is. */
export interface StatementTemplate {
  readonly sql: string;
  /** The values in parameter order. */
  bind(values: Readonly<Record<string, unknown>>): unknown[];
}

/**
 * Compiles the query `build` makes from stand-in values once, and notes which named value each
 * parameter is; each use then only binds values in that order. A stand-in the compiled query
 * does not hold, as a parameter, is refused at once (the template would bind wrongly).
 */
export function statementTemplate(names: readonly string[], build: (values: Record<string, unknown>) => { compile(): CompiledQuery }): StatementTemplate {
  const standIns: Record<string, string> = {};
  for (const name of names) standIns[name] = `\u0000${name}\u0000`;
  const compiled = build(standIns).compile();
  const order = compiled.parameters.map((p) => {
    const name = names.find((n) => standIns[n] === p);
    if (name === undefined) throw new Error(`A statement template has a parameter that is none of ${names.join(', ')}.`);
    return name;
  });
  for (const name of names) if (!order.includes(name)) throw new Error(`A statement template does not use its value '${name}'.`);
  return { sql: compiled.sql, bind: (values) => order.map((name) => values[name]) };
}

/** The template prepared once on a SQLite handle of this process: a run costs a bind and a step. */
export function preparedOnSqlite(file: BetterSqlite3.Database, template: StatementTemplate): (values: Readonly<Record<string, unknown>>) => void {
  const statement = file.prepare(template.sql);
  return (values) => {
    statement.run(...template.bind(values));
  };
}
