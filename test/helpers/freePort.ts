/** A TCP port on 127.0.0.1 free right now, for an emulator the tests start (moto, Azurite). */
import * as net from 'node:net';

/** Asks the OS for a free loopback port (it may be taken again before use: emulators retry or fail loudly). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
