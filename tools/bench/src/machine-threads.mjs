// A thread of the pipeline benchmark's machine ceiling (`machineCeiling` in pipeline-bench.ts): for
// `workerData.ms` milliseconds it runs rounds of 1,000 steps of one kind, then answers how many
// rounds it ran. `arithmetic`: integer arithmetic on a local, which allocates nothing and touches no
// memory past the core's own. `allocating`: parses a reading's JSON body and keeps the last 10,000
// to 20,000 objects, so the young generation fills and is collected as the ingest's does.
import { parentPort, workerData } from 'node:worker_threads';

const { kind, ms } = workerData;
const body = JSON.stringify({ DeviceID: 'thermostat-00001', Temperature: 71.5, Humidity: 40.2, ReadingType: 'Temperature', EventToken: '7d0e1d52-6b1c' });
const kept = [];
let x = 1;
let rounds = 0;
const end = performance.now() + ms;
while (performance.now() < end) {
  if (kind === 'arithmetic') for (let i = 0; i < 1000; i++) x = (x * 1103515245 + 12345) % 2147483648;
  else
    for (let i = 0; i < 1000; i++) {
      kept.push(JSON.parse(body));
      if (kept.length > 20000) kept.splice(0, 10000);
    }
  rounds++;
}
parentPort.postMessage(rounds + (x & 0));
