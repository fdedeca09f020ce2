// Preloaded (`node --expose-gc --import`) into a process under measurement. Every 20 ms it samples
// the heap in use (live objects and garbage not yet collected); every second it collects garbage
// first and samples again, which is the heap the process really holds. At exit it writes the peaks
// of both and the peak resident set size (the kernel's maxRSS) as JSON to the file named by
// FIELDLINK_BENCH_MEMORY_OUT.
import { writeFileSync } from 'node:fs';

const out = process.env.FIELDLINK_BENCH_MEMORY_OUT;
if (out) {
  let peakHeap = 0;
  let peakLiveHeap = 0;
  const sample = () => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  const sampleLive = () => {
    if (typeof globalThis.gc !== 'function') return;
    globalThis.gc();
    peakLiveHeap = Math.max(peakLiveHeap, process.memoryUsage().heapUsed);
  };
  setInterval(sample, 20).unref();
  setInterval(sampleLive, 1_000).unref();
  process.on('exit', () => {
    sample();
    sampleLive();
    writeFileSync(out, JSON.stringify({ peakHeapBytes: peakHeap, peakLiveHeapBytes: peakLiveHeap, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  });
}
