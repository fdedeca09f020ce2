export { startDataverseEmulator, type DataverseEmulatorOptions, type EmulatorStats, type RunningDataverseEmulator } from './dataverse-emulator.js';
export { CFS_TABLES, STOCK_SCHEMA, stockTables, type StockSchemaDocument, type TableSchema } from './cfs-schema.js';
export { readSolutionColumns, type SolutionColumns } from './solution-import.js';
export { DATAVERSE_MAX_REQUEST_BYTES, emulatorCredential } from './request-guard.js';
export { MAX_BATCH_REQUESTS } from './batch-request.js';
export { defineDeviceCategory, setIoTSettings } from './organisation-setup.js';
