export { startDataverseEmulator, type DataverseEmulatorOptions, type EmulatorStats, type RunningDataverseEmulator } from './dataverse-emulator.js';
export { CFS_TABLES, type TableSchema } from './cfs-schema.js';
