// The pod side of the API relay (see api-access.ts): run inside a pod's network namespace, it
// listens on the pod's loopback and forwards every connection to the kubelet's Unix socket.
// Usage: api-relay.ts <port> <socket path>
import { connect, createServer } from 'node:net';

const [port, socketPath] = process.argv.slice(2);
if (port === undefined || socketPath === undefined) {
  console.error('usage: api-relay.ts <port> <socket path>');
  process.exit(2);
}
createServer((downstream) => {
  const upstream = connect(socketPath);
  downstream.pipe(upstream).pipe(downstream);
  downstream.on('error', () => upstream.destroy());
  upstream.on('error', () => downstream.destroy());
}).listen(Number(port), '127.0.0.1', () => console.log(`listening on 127.0.0.1:${port}`));
