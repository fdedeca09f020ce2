/**
 * A failure the way Dataverse reports it: an HTTP status, and a body
 * `{"error":{"code":"0x80040217","message":"..."}}` with the platform's hexadecimal error code.
 */
export class DataverseFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'DataverseFault';
  }

  body(): string {
    return JSON.stringify({ error: { code: this.code, message: this.message } });
  }
}

export const notFound = (logicalName: string, id: string): DataverseFault =>
  new DataverseFault(404, '0x80040217', `${logicalName} With Id = ${id} Does Not Exist`);
