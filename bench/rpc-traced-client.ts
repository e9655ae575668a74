/**
 * Child process of bench/rpc: the traced side's client, in a process of its
 * own so that its subscriber (and the code paths tracing takes) cannot slow
 * down the untraced side measured in the parent. Connects to the port in
 * argv[2], subscribes to `cio:call`, then for each line `{ scenario, ms }`
 * on stdin measures that scenario for `ms` and prints `{ calls, elapsed }`.
 */
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import buildCio from '../lib/index.js'
import { peerOf } from '../lib/rpc/peer.js'
import rpcListeners from '../listeners/rpc.js'
import { measure, scenarios } from './method.js'
import { subscribeCounting } from './trace-subscriber.js'

const subscriber = subscribeCounting('cio:call')

const cio = buildCio()
cio.onClient(rpcListeners)
const socket = cio.client({ port: Number(process.argv[2]), host: '127.0.0.1' })
const peer = peerOf(socket)
if (peer === undefined) throw new Error('cio/rpc made no peer')
await once(socket, 'connect')
process.stdout.write('ready\n')
for await (const line of createInterface({ input: process.stdin })) {
  const { scenario, ms } = JSON.parse(line) as { scenario: number; ms: number }
  const s = scenarios[scenario]
  if (s === undefined) throw new Error(`no scenario ${scenario}`)
  const result = await measure((body) => peer.call('echo', body), s.inFlight, s.body, ms)
  if (subscriber.seen() === 0) throw new Error('the tracing subscriber saw nothing')
  process.stdout.write(`${JSON.stringify(result)}\n`)
}
socket.destroy()
