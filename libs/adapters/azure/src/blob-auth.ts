import type { TokenCredential } from '@azure/identity';
import { BlobServiceClient } from '@azure/storage-blob';

/** How the Blob adapters sign in: a storage connection string, or an account URL and a Microsoft Entra credential. */
export type BlobAuth = { readonly connectionString: string } | { readonly accountUrl: string; readonly credential: TokenCredential };

export function blobService(auth: BlobAuth): BlobServiceClient {
  return 'connectionString' in auth ? BlobServiceClient.fromConnectionString(auth.connectionString) : new BlobServiceClient(auth.accountUrl, auth.credential);
}
