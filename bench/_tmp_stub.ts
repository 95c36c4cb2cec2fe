import { startFirehoseStub } from "../test/helpers/firehose-stub.js";
const stub = await startFirehoseStub({ streamName: "bench-stream", keepData: false });
stub.setLatency(20);
process.stdout.write(stub.endpoint + "\n");
setInterval(() => process.stderr.write(JSON.stringify(stub.stats) + "\n"), 5000);
