import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface RunningServer {
  server: Server;
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  /** Stops accepting, drops open connections (keep-alive included) and resolves once the server is closed. */
  close(): Promise<void>;
}

/**
 * Serves `handler` (an Express app, or any request listener) on a free loopback port: the fake server a test talks
 * to over real HTTP. Always `await close()` (in `finally` or an `after` hook), so no socket outlives the test.
 */
export async function serve(handler: RequestListener): Promise<RunningServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
