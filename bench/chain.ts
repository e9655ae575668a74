/**
 * bench/chain: the cost of one server-client chain run (the core listeners
 * plus ten user listeners), against calling the same eleven functions
 * directly, and the cost of order() on 200 constrained listeners.
 *
 *   npx tsx bench/chain.ts
 */
import { once } from 'node:events'
import net from 'node:net'
import { buildCio } from '../lib/core/builder.js'
import type { Listener } from '../lib/chain/types.js'
import type { ServerClientContext } from '../lib/core/types.js'
import { order } from '../lib/chain/order.js'
import { median, table, timePerCall } from './stats.js'

const ROUNDS = 7
const RUNS = 50_000
const ORDERS = 300

function userListeners(): Listener<ServerClientContext>[] {
  const listeners: Listener<ServerClientContext>[] = []
  for (let i = 0; i < 10; i++) {
    const fn: Listener<ServerClientContext> = function userListener(_control, context) {
      ;(context as ServerClientContext & { seen?: number }).seen = i
    }
    fn.options = { id: `user/${i}`, after: i === 0 ? ['cio/authenticate-client'] : [`user/${i - 1}`] }
    listeners.push(fn)
  }
  return listeners
}

function constrainedItems(count: number): Listener<object>[] {
  const items: Listener<object>[] = []
  for (let i = 0; i < count; i++) {
    const fn: Listener<object> = () => {}
    const after = i > 0 && i % 3 === 0 ? [`item/${i - 1}`, `item/${Math.floor(i / 2)}`] : []
    const before = i % 5 === 0 && i + 2 < count ? [`item/${i + 2}`] : []
    fn.options = { id: `item/${i}`, after, before, ...(i === 1 ? { before: ['*'] } : {}) }
    items.push(fn)
  }
  return items.reverse()
}

async function main(): Promise<void> {
  const server = net.createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
  await once(socket, 'connect')

  const cio = buildCio()
  const listeners = userListeners()
  cio.onServerClient(listeners)
  const chain = cio.getServerClientChain()
  const context: ServerClientContext = { cio, options: {}, server, serverClient: socket, secure: false, isSecure: false }
  chain.run({ context }) // orders once, outside the timing
  const direct = [...chain.array]
  const control = undefined as never

  const chainNs: number[] = []
  const directNs: number[] = []
  const orderUs: number[] = []
  const items = constrainedItems(200)
  for (let round = 0; round < ROUNDS; round++) {
    chainNs.push(timePerCall(RUNS, () => chain.run({ context })))
    directNs.push(timePerCall(RUNS, () => {
      for (const fn of direct) fn.call(context, control, context)
    }))
    orderUs.push(timePerCall(ORDERS, () => order(items)) / 1000)
  }
  socket.destroy()
  server.close()

  const chainMedian = median(chainNs)
  const directMedian = median(directNs)
  console.log(`bench/chain on node ${process.version}, median of ${ROUNDS} rounds`)
  console.log(table(['measure', 'median', 'note'], [
    ['server-client chain run, 11 listeners', `${chainMedian.toFixed(0)} ns/run`, `${(1e9 / chainMedian / 1e6).toFixed(2)} M runs/s`],
    ['same 11 functions called directly', `${directMedian.toFixed(0)} ns/run`, `chain overhead ${(chainMedian / directMedian).toFixed(1)}x, ${(chainMedian - directMedian).toFixed(0)} ns`],
    ['order() on 200 constrained listeners', `${median(orderUs).toFixed(1)} µs/order`, ''],
  ]))
}

await main()
