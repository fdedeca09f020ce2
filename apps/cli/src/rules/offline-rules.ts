// The offline evaluation lives with the stream processor's flows, which are tested against it; the
// CLI's `rules test` uses it from there.
export { runRulesOffline, type BadLine, type OfflineAlert, type OfflineRun, type OfflineRunOptions } from '@fieldlink/flows';
