/**
 * Child process of bench/rpc: a cio RPC echo server and the hand-written
 * baseline echo server, on two ephemeral ports printed as one JSON line.
 * Exits when its parent closes stdin. With BENCH_TRACE=1 a subscriber
 * listens on `cio:handle` (the traced side of bench/rpc).
 */
import net from 'node:net'
import { once } from 'node:events'
import buildCio from '../lib/index.js'
import { RpcHandlers } from '../lib/rpc/handlers.js'
import rpcListeners from '../listeners/rpc.js'
import { serveEcho } from './baseline.js'
import { subscribeCounting } from './trace-subscriber.js'

if (process.env.BENCH_TRACE === '1') subscribeCounting('cio:handle')

const cio = buildCio()
cio.onServerClient(rpcListeners)
const handlers = new RpcHandlers().on('echo', (body) => body)
const cioServer = cio.server({ handlers })
const baselineServer = net.createServer(serveEcho)

cioServer.listen(0, '127.0.0.1')
baselineServer.listen(0, '127.0.0.1')
await Promise.all([once(cioServer, 'listening'), once(baselineServer, 'listening')])
const port = (server: net.Server): number => (server.address() as net.AddressInfo).port
process.stdout.write(`${JSON.stringify({ cio: port(cioServer), baseline: port(baselineServer) })}\n`)
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
