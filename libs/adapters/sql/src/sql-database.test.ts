import { describe, expect, it } from 'vitest';
import { tediousConfig } from './sql-database.js';

describe('tediousConfig', () => {
  it('reads the connection string the Azure portal shows for ADO.NET', () => {
    const config = tediousConfig(
      'Server=tcp:fieldlink.database.windows.net,1433;Initial Catalog=status;Persist Security Info=False;User ID=reporter;Password=s3cret;MultipleActiveResultSets=False;Encrypt=True;TrustServerCertificate=False;Connection Timeout=30;',
    );
    expect(config).toMatchObject({
      server: 'fieldlink.database.windows.net',
      authentication: { type: 'default', options: { userName: 'reporter' } },
      options: { port: 1433, database: 'status', encrypt: true, trustServerCertificate: false },
    });
  });

  it('refuses a string without a server or a user, naming the key and never the password', () => {
    expect(() => tediousConfig('Initial Catalog=x;User ID=u;Password=hunter2')).toThrow('no Server');
    expect(() => tediousConfig('Server=localhost;Password=hunter2')).toThrow(/no User ID/);
    expect(() => tediousConfig('Server=localhost,port;User ID=u')).toThrow(expect.objectContaining({ name: 'SqlAdapterError', code: 'Misconfigured' }));
    try {
      tediousConfig('Server=localhost;Password=hunter2');
    } catch (error) {
      expect(String(error)).not.toContain('hunter2');
    }
  });
});
