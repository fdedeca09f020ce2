import { generate } from 'selfsigned';

export interface LoopbackCertificate {
  readonly key: string;
  readonly cert: string;
}

/**
 * A self-signed certificate for `127.0.0.1` and `localhost`, made at test time (no files shipped,
 * nothing downloaded). It is its own trust anchor: clients trust it by taking it as their CA.
 */
export async function generateLoopbackCertificate(): Promise<LoopbackCertificate> {
  const pems = await generate([{ name: 'commonName', value: '127.0.0.1' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
        ],
      },
    ],
  } as Parameters<typeof generate>[1]);
  return { key: pems.private, cert: pems.cert };
}
