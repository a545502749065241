import http from 'node:http';
import { KilnError } from '../core/index.js';

/** A request the server refuses: answered with `status` and `{ error: message }`. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function send(res: http.ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...headers });
  res.end(body);
}

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

/** Answers an error thrown by a handler: an HttpError with its message, anything else as a logged 500. */
export function sendError(res: http.ServerResponse, e: unknown): void {
  const status = e instanceof HttpError ? e.status : 500;
  sendJson(res, status, { error: status === 500 ? 'internal error' : (e as Error).message });
  if (status === 500) console.error(e);
}

export interface RunningServer {
  server: http.Server;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks a free one); a busy port or an unusable address is a KilnError. */
export async function listen(server: http.Server, host: string, port: number, onClose: () => void = () => {}): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(e.code === 'EADDRINUSE' ? new KilnError(`port ${port} on ${host} is already in use`)
        : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND' || e.code === 'EACCES' ? new KilnError(`cannot listen on ${host}:${port} (${e.code})`)
          : e));
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  return {
    server,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          onClose();
          resolve();
        });
      }),
  };
}
