/** The names of one generated adapter, derived from its kebab-case name. */
export interface Names {
  /** `redis` */
  readonly file: string;
  /** `Redis` */
  readonly className: string;
  readonly project: string;
  readonly packageName: string;
  readonly root: string;
}

/**
 * What the adapter generator writes for one port: the adapter over a small client interface (the
 * calls of the service's SDK it needs) and a test running the port's conformance suite with that
 * client kept in memory. Each template's adapter passes its suite as generated.
 */
export interface PortTemplate {
  readonly portInterface: string;
  readonly suite: string;
  readonly fileSuffix: string;
  readonly classSuffix: string;
  readonly summary: string;
  /** How the generated test keeps the client, for the README: `a Map`, `an array`. */
  readonly testClient: string;
  readonly source: (n: Names) => string;
  readonly test: (n: Names) => string;
}
