/** The baseline for bench/webhook.ts: a bare Express app that reads the same POSTs and answers 200. */
import express from "express";

const port = Number(process.argv[2]);
const app = express();
app.post("/webhooks/wootric", express.raw({ type: () => true, limit: "1mb" }), (_req, res) => {
  res.status(200).json({ stored: 1, dead_letters: 0 });
});
app.get("/healthz", (_req, res) => {
  res.json({ status: "ok" });
});
const server = app.listen(port, "127.0.0.1");
process.on("SIGTERM", () => server.close(() => process.exit(0)));
