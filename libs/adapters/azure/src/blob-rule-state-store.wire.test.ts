import { randomUUID } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobRuleStateStore } from './blob-rule-state-store.js';
import { ruleStateStoreConformance } from '@fieldlink/ports/testing';
import { startAzurite, type RunningAzurite } from '@fieldlink/azure-standins';

let azurite: RunningAzurite;
beforeAll(async () => {
  azurite = await startAzurite();
});
afterAll(async () => {
  await azurite?.stop();
});

const newContainerName = () => `state-${randomUUID().slice(0, 8)}`;
const storeOn = (containerName: string) => new BlobRuleStateStore({ auth: { connectionString: azurite.connectionString }, containerName });

ruleStateStoreConformance('BlobRuleStateStore on Azurite', async () => {
  const containerName = newContainerName();
  return {
    store: storeOn(containerName),
    reopen: async () => storeOn(containerName),
    dispose: async () => {
      await BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(containerName).deleteIfExists();
    },
  };
});

describe('BlobRuleStateStore on Azurite, beyond the port contract', () => {
  it('keeps a key as the JSON blob {prefix}{key}.json, its slashes as folders, in a container it creates', async () => {
    const containerName = newContainerName();
    const store = storeOn(containerName);
    await store.save('ingest/0/journal/3', { epoch: 2 });
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(containerName)
      .getBlobClient('rule-state/ingest/0/journal/3.json');
    const properties = await blob.getProperties();
    expect(properties.contentType).toBe('application/json');
    expect(JSON.parse((await blob.downloadToBuffer()).toString('utf8'))).toEqual({ epoch: 2 });
  });

  it('keeps JSON text given to saveJson as the blob, as save keeps its parse, under the same conflict condition', async () => {
    const containerName = newContainerName();
    const mine = storeOn(containerName);
    const theirs = storeOn(containerName);
    const json = JSON.stringify({ v: 1, note: 'Température' });
    await mine.saveJson('ingest/0', json);
    const blob = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(containerName).getBlobClient('rule-state/ingest/0.json');
    expect((await blob.getProperties()).contentType).toBe('application/json');
    expect((await blob.downloadToBuffer()).toString('utf8')).toBe(json);
    expect(await theirs.load('ingest/0')).toStrictEqual({ v: 1, note: 'Température' });

    await theirs.saveJson('ingest/0', '{"v":2}');
    await expect(mine.saveJson('ingest/0', '{"v":"stale"}')).rejects.toMatchObject({ code: 'RuleStateConflict' });
    expect(await mine.load('ingest/0')).toStrictEqual({ v: 2 });
    await mine.saveJson('ingest/0', '{"v":3}');
    expect(await theirs.load('ingest/0')).toStrictEqual({ v: 3 });
    await expect(mine.saveJson('ingest//0', '{}')).rejects.toThrow(/cannot name a blob/);
  });

  it('keeps keys apart that differ only in characters URLs escape (%, spaces, quotes, non-ASCII)', async () => {
    const store = storeOn(newContainerName());
    const keys = ['a/b', 'a%2Fb', 'a%252Fb', "o'brien 1", 'o%27brien%201', 'Température/ü', 'a/b.json'];
    for (const [index, key] of keys.entries()) await store.save(key, { index });
    for (const [index, key] of keys.entries()) expect(await store.load(key)).toEqual({ index });
  });

  it('refuses a key that cannot name a blob, saying why', async () => {
    const store = storeOn(newContainerName());
    await expect(store.save('ingest//0', {})).rejects.toThrow(/Rule state key "ingest\/\/0" cannot name a blob: it has an empty path segment/);
    await expect(store.load('')).rejects.toThrow(/it is empty/);
    await expect(store.save('ingest/0', undefined)).rejects.toThrow(/not JSON data/);
  });

  it('does not overwrite what another instance wrote since this one read the key, until it loads again', async () => {
    const containerName = newContainerName();
    const first = storeOn(containerName);
    const second = storeOn(containerName);
    await first.save('ingest/0', { epoch: 1 });
    expect(await first.load('ingest/0')).toEqual({ epoch: 1 });
    expect(await second.load('ingest/0')).toEqual({ epoch: 1 });
    await second.save('ingest/0', { epoch: 2 });

    await expect(first.save('ingest/0', { epoch: 1, stale: true })).rejects.toMatchObject({
      code: 'RuleStateConflict',
      message: expect.stringContaining('was changed by another writer'),
    });
    expect(await second.load('ingest/0')).toEqual({ epoch: 2 });

    expect(await first.load('ingest/0')).toEqual({ epoch: 2 });
    await first.save('ingest/0', { epoch: 3 });
    expect(await second.load('ingest/0')).toEqual({ epoch: 3 });
  });

  it('counts a loadJson as a read: a save after it is conditioned on the blob it read, or on its absence', async () => {
    const containerName = newContainerName();
    const first = storeOn(containerName);
    const second = storeOn(containerName);
    expect(await first.loadJson('ingest/1/journal/1')).toBeUndefined();
    await second.save('ingest/1/journal/1', { from: 'second' });
    await expect(first.save('ingest/1/journal/1', { from: 'first' })).rejects.toMatchObject({ code: 'RuleStateConflict' });
    expect(await first.loadJson('ingest/1/journal/1')).toBe('{"from":"second"}');
    await second.save('ingest/1/journal/1', { from: 'second again' });
    await expect(first.saveJson('ingest/1/journal/1', '{"from":"first"}')).rejects.toMatchObject({ code: 'RuleStateConflict' });
    await first.loadJson('ingest/1/journal/1');
    await first.save('ingest/1/journal/1', { from: 'first' });
    expect(await second.load('ingest/1/journal/1')).toEqual({ from: 'first' });
  });

  it('does not create over a key another instance created after this one found it missing', async () => {
    const containerName = newContainerName();
    const first = storeOn(containerName);
    const second = storeOn(containerName);
    expect(await first.load('ingest/1/journal/0')).toBeUndefined();
    await second.save('ingest/1/journal/0', { from: 'second' });
    await expect(first.save('ingest/1/journal/0', { from: 'first' })).rejects.toMatchObject({ code: 'RuleStateConflict' });
    expect(await second.load('ingest/1/journal/0')).toEqual({ from: 'second' });
  });

  it('says which blob holds state that is not JSON', async () => {
    const containerName = newContainerName();
    const store = storeOn(containerName);
    await store.save('ingest/2', { ok: true });
    const text = '{"truncated":';
    await BlobServiceClient.fromConnectionString(azurite.connectionString)
      .getContainerClient(containerName)
      .getBlockBlobClient('rule-state/ingest/2.json')
      .upload(text, text.length);
    await expect(store.load('ingest/2')).rejects.toMatchObject({
      code: 'UnreadableState',
      message: expect.stringContaining("blob 'rule-state/ingest/2.json'"),
    });
  });

  it('reports a wrong account key without echoing it', async () => {
    const wrongKey = Buffer.from(randomUUID()).toString('base64');
    const connectionString = azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${wrongKey}`);
    const store = new BlobRuleStateStore({ auth: { connectionString }, containerName: 'anything', createContainer: false });
    const error = await store.load('ingest/0').then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(
      /Loading rule state 'ingest\/0' from blob 'rule-state\/ingest\/0.json' in container 'anything' failed: .*(signature|authoriz|403)/i,
    );
    expect(error?.message).not.toContain(wrongKey);
    const creating = new BlobRuleStateStore({ auth: { connectionString }, containerName: 'anything' });
    const creationError = await creating.save('ingest/0', {}).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(creationError?.message).toMatch(/Creating the rule state container 'anything' failed/);
    expect(creationError?.message).not.toContain(wrongKey);
  });
});
