/**
 * Test helper: an HTTP proxy in front of moto that injects throttling. Point an adapter's
 * `endpoint` at `proxy.endpoint`; then `failNext(n)` answers the next n requests, or
 * `failFor(ms)` every request for a while, with 503 SlowDown (S3, XML) / 503 ThrottlingException
 * (JSON protocols such as SQS). Everything else is forwarded unchanged. This tests the real SDK
 * retry path: nothing in the code under test is mocked.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FaultProxy {
  readonly endpoint: string;
  /** Answer the next `n` requests with 503 SlowDown. */
  failNext(n: number): void;
  /** Answer every request with 503 SlowDown for `ms` from now. */
  failFor(ms: number): void;
  /** Stop injecting faults. */
  heal(): void;
  /** Requests seen / answered with a fault. */
  readonly requests: number;
  readonly faultsServed: number;
  close(): Promise<void>;
}

const S3_SLOWDOWN =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>';
const JSON_THROTTLE = JSON.stringify({ __type: 'com.amazonaws.sqs#ThrottlingException', message: 'Rate exceeded' });

/** Start a proxy to `target` (e.g. moto's endpoint) on a free loopback port. */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  let failCount = 0;
  let failUntil = 0;
  let requests = 0;
  let faults = 0;
  const agent = new http.Agent({ keepAlive: true });

  const server = http.createServer((req, res) => {
    requests += 1;
    const inject = failCount > 0 || Date.now() < failUntil;
    if (inject) {
      if (failCount > 0) failCount -= 1;
      faults += 1;
      const json = req.headers['x-amz-target'] !== undefined || String(req.headers['content-type'] ?? '').includes('json');
      const body = json ? JSON_THROTTLE : S3_SLOWDOWN;
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': json ? 'application/x-amz-json-1.0' : 'application/xml', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    const fwd = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    fwd.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    failNext: (n) => {
      failCount = n;
    },
    failFor: (ms) => {
      failUntil = Date.now() + ms;
    },
    heal: () => {
      failCount = 0;
      failUntil = 0;
    },
    get requests() {
      return requests;
    },
    get faultsServed() {
      return faults;
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
