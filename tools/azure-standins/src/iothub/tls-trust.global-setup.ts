import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateLoopbackCertificate, type LoopbackCertificate } from './loopback-certificate.js';

const DIR_VARIABLE = 'FIELDLINK_STANDIN_TLS_DIR';

/**
 * Vitest global setup: makes the loopback certificate once, before the test workers start, and
 * points NODE_EXTRA_CA_CERTS at it. Node reads that variable only when a process starts, and
 * the workers inherit it: so the SDKs with no CA option of their own (azure-iothub's AMQP
 * client) trust the stand-ins, while nothing else about the machine's trust changes.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'fieldlink-standin-tls-'));
  const certificate = await generateLoopbackCertificate();
  await writeFile(join(dir, 'cert.pem'), certificate.cert);
  await writeFile(join(dir, 'key.pem'), certificate.key, { mode: 0o600 });
  process.env['NODE_EXTRA_CA_CERTS'] = join(dir, 'cert.pem');
  process.env[DIR_VARIABLE] = dir;
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}

/** The certificate the global setup made, which this test process trusts. */
export async function trustedLoopbackCertificate(): Promise<LoopbackCertificate> {
  const dir = process.env[DIR_VARIABLE];
  if (!dir) throw new Error(`${DIR_VARIABLE} is not set: run the tests through this project's vitest config, whose global setup makes the certificate.`);
  return { cert: await readFile(join(dir, 'cert.pem'), 'utf8'), key: await readFile(join(dir, 'key.pem'), 'utf8') };
}
