import type { Token } from '@fieldlink/ports';
import { ContainerModule, type Container, type ContainerModuleLoadOptions, type MapToResolvedValueInjectOptions } from 'inversify';

/*
 * The container's bindings, checked by the compiler. Every token is a `Token<T>` (a symbol
 * carrying the type of what it names, see `@fieldlink/ports`), and every binding goes through
 * `Bindings`: a value must be a `T`, and a factory names its dependencies once, as a record of
 * tokens, and is given an object of their values whose types are read from the tokens. Resolving
 * goes through `resolve`, whose result is the token's type: nowhere does a caller choose the type
 * of what it gets.
 */

/** A dependency that may be missing: resolved to nothing (the key left out) when its token is not bound. */
export interface OptionalDependency<T> {
  readonly serviceIdentifier: Token<T>;
  readonly optional: true;
}

export type Dependency<T = unknown> = Token<T> | OptionalDependency<T>;

/** Marks a dependency as optional: a process whose configuration has no such port still gets the service. */
export const optional = <T>(token: Token<T>): OptionalDependency<T> => ({ serviceIdentifier: token, optional: true });

type ValueOf<D> = D extends OptionalDependency<infer T> ? T : D extends Token<infer T> ? T : never;
type OptionalKeys<M> = { [K in keyof M]: M[K] extends OptionalDependency<unknown> ? K : never }[keyof M];
type RequiredKeys<M> = Exclude<keyof M, OptionalKeys<M>>;

/** The values of a record of dependencies: required ones present, optional ones possibly absent. */
export type Resolved<M extends Readonly<Record<string, Dependency>>> = { -readonly [K in RequiredKeys<M>]: ValueOf<M[K]> } & {
  -readonly [K in OptionalKeys<M>]?: ValueOf<M[K]>;
};

/** What a container module binds with. */
export interface Bindings {
  /** Binds `token` to `value`. */
  value<T>(token: Token<T>, value: T): void;
  /**
   * Binds `token` to what `make` builds, once per container, from the values of `dependencies`
   * (a record of tokens, each possibly `optional`): the dependency list is stated once, and its
   * types come from the tokens.
   */
  factory<T, const M extends Readonly<Record<string, Dependency>>>(token: Token<T>, dependencies: M, make: (deps: Resolved<M>) => T): void;
  /** Whether a module loaded before (or this one) bound `token`. */
  has(token: Token<unknown>): boolean;
}

function bindingsOf({ bind, isBound }: ContainerModuleLoadOptions): Bindings {
  return {
    value<T>(token: Token<T>, value: T): void {
      bind<T>(token).toConstantValue(value);
    },
    factory<T, const M extends Readonly<Record<string, Dependency>>>(token: Token<T>, dependencies: M, make: (deps: Resolved<M>) => T): void {
      const keys = Object.keys(dependencies);
      const build = (...values: unknown[]): T =>
        make(Object.fromEntries(keys.flatMap((k, i) => (values[i] === undefined ? [] : [[k, values[i]]]))) as Resolved<M>);
      // inversify resolves the dependencies in the order given and passes them positionally; `Resolved<M>` is what they are.
      bind<T>(token)
        .toResolvedValue(build, keys.map((k) => dependencies[k]) as unknown as MapToResolvedValueInjectOptions<unknown[]>)
        .inSingletonScope();
    },
    has: (token) => isBound(token),
  };
}

/** A container module (inversify's unit of bindings) written with typed bindings. */
export function bindingsModule(load: (bindings: Bindings) => void): ContainerModule {
  return new ContainerModule((options) => load(bindingsOf(options)));
}

/** What `token` is bound to, of the token's type; throws (a bug, not an expected failure) when it is not bound. */
export function resolveToken<T>(container: Container, token: Token<T>): T {
  return container.get<T>(token);
}

/** What `token` is bound to, or undefined when this process has no such binding. */
export function resolveTokenIfBound<T>(container: Container, token: Token<T>): T | undefined {
  return container.isBound(token) ? container.get<T>(token) : undefined;
}
