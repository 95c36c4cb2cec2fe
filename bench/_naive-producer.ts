/**
 * The naive producer the Firehose benchmark compares against: one Firehose record per event, an in-memory queue,
 * 2xx as soon as the event is queued (no disk), PutRecordBatch of up to 500 records every linger, failed entries and
 * failed calls kept in memory and retried. This is the shape of memory-buffered shippers (Vector/Fluent Bit defaults,
 * firehoser). Run as a child process so its memory can be measured on its own.
 *   PORT, FIREHOSE_STREAM_NAME, AWS_* (endpoint of the stub)
 */
import http from "node:http";
import { PutRecordBatchCommand } from "@aws-sdk/client-firehose";
import { makeFirehoseClient } from "../src/aws/clients.js";
import { makeEnvelope, serializeEnvelope } from "../src/records/envelope.js";

const stream = process.env.FIREHOSE_STREAM_NAME!;
const client = makeFirehoseClient({ maxAttempts: 1 });
const queue: Buffer[] = [];
let sending = false;

async function flush(): Promise<void> {
  if (sending || queue.length === 0) return;
  sending = true;
  try {
    while (queue.length > 0) {
      const batch: Buffer[] = [];
      let bytes = 0;
      while (queue.length > 0 && batch.length < 500 && bytes + queue[0]!.length <= 4_000_000) {
        const b = queue.shift()!;
        batch.push(b);
        bytes += b.length;
      }
      try {
        const out = await client.send(
          new PutRecordBatchCommand({ DeliveryStreamName: stream, Records: batch.map((Data) => ({ Data })) }),
        );
        const failed = batch.filter((_, i) => !out.RequestResponses?.[i]?.RecordId);
        queue.unshift(...failed);
        if (failed.length > 0) await new Promise((r) => setTimeout(r, 100));
      } catch {
        queue.unshift(...batch);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    sending = false;
  }
}
setInterval(() => void flush(), 200);

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { response: unknown };
        const env = makeEnvelope("response", body.response, { source: "webhook" });
        queue.push(Buffer.from(serializeEnvelope(env)));
        res.writeHead(200).end("ok");
      } catch {
        res.writeHead(400).end("bad");
      }
    });
  })
  .listen(Number(process.env.PORT), "127.0.0.1", () => process.stdout.write("listening\n"));
