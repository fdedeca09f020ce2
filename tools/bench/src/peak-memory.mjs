// Preloaded (`node --import`) into a process under measurement: samples the heap every 20 ms and,
// at exit, writes the peak heap and the peak resident set size (the kernel's maxRSS) as JSON to
// the file named by FIELDLINK_BENCH_MEMORY_OUT.
import { writeFileSync } from 'node:fs';

const out = process.env.FIELDLINK_BENCH_MEMORY_OUT;
if (out) {
  let peakHeap = 0;
  const sample = () => {
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  };
  setInterval(sample, 20).unref();
  process.on('exit', () => {
    sample();
    writeFileSync(out, JSON.stringify({ peakHeapBytes: peakHeap, maxRssBytes: process.resourceUsage().maxRSS * 1024 }));
  });
}
