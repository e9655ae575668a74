import t from 'tap'
import { PendingCall, PendingFanout } from '../../lib/cluster/pending.js'
import type { AllReplyMessage } from '../../lib/cluster/wire.js'
import { CioError, codes } from '../../lib/errors.js'

function part(node: string, index: number, parts: number, results: AllReplyMessage['results']): AllReplyMessage {
  return { v: 1, t: 'allReply', id: 1, node, part: index, parts, results }
}
const lost = (name: string, node: string): CioError => new CioError(codes.DISCONNECTED, `${name} on ${node}`)

t.test('pending fan-out - answers that come before the targets are applied once they are known; parts complete a node', async (t) => {
  let settled = 0
  const fanout = new PendingFanout(1, 'do', 5000, () => settled++)
  t.ok(fanout.onReply(part('b', 0, 2, { A1: { ok: true, value: 1 } })), 'an early part is kept')
  fanout.setTargets([{ node: 'b', receivers: 1, names: ['A1', 'A2', 'A3'] }, { node: 'c', receivers: 0, names: ['A4'] }], lost)
  t.notOk(fanout.onReply(part('b', 0, 2, { A1: { ok: true, value: 9 } })), 'a part seen twice is refused')
  t.notOk(fanout.onReply(part('b', 1, 3, {})), 'a part disagreeing on the count is refused')
  t.notOk(fanout.onReply(part('x', 0, 1, {})), 'a node not in the fan-out is refused')
  t.ok(fanout.onReply(part('b', 1, 2, { A2: { ok: false, fault: { code: 'TIMEOUT', message: 'late' } } })))
  const byNode = await fanout.promise
  t.equal(settled, 1)
  t.same(Object.keys(byNode.get('b') ?? {}), ['A1', 'A2'], 'names in the snapshot the node did not answer for were not connected there')
  t.equal(((byNode.get('b')?.A2 as { error: CioError }).error).details.node, 'b')
  t.equal(((byNode.get('c')?.A4 as { error: CioError }).error).code, codes.DISCONNECTED, 'an unreached node has its agents named')
  t.notOk(fanout.onReply(part('b', 0, 1, {})), 'nothing counts once settled')
})

t.test('pending fan-out - a deadline before the targets are known times them out as soon as they are', async (t) => {
  const fanout = new PendingFanout(2, 'do', 5000, () => {})
  fanout.expire()
  fanout.setTargets([{ node: 'b', receivers: 1, names: ['A1'] }], lost)
  const byNode = await fanout.promise
  const error = (byNode.get('b')?.A1 as { error: CioError }).error
  t.equal(error.code, codes.TIMEOUT)
  t.equal(error.details.node, 'b')
})

t.test('pending fan-out - failAll settles every open node; before the targets it settles with none', async (t) => {
  const open = new PendingFanout(3, 'do', 5000, () => {})
  open.setTargets([{ node: 'b', receivers: 1, names: ['A1'] }, { node: 'c', receivers: 1, names: ['A2'] }], lost)
  open.onReply(part('c', 0, 1, { A2: { ok: true, value: 2 } }))
  open.failAll(lost)
  const byNode = await open.promise
  t.equal(((byNode.get('b')?.A1 as { error: CioError }).error).code, codes.DISCONNECTED)
  t.same(byNode.get('c')?.A2, { ok: true, value: 2 }, 'an answered node keeps its answers')
  const early = new PendingFanout(4, 'do', 5000, () => {})
  early.failAll(lost)
  t.same([...(await early.promise).keys()], [])
  early.setTargets([{ node: 'b', receivers: 1, names: ['A1'] }], lost)
})

t.test('pending call - settles once; its deadline names the node', async (t) => {
  const removed: number[] = []
  const call = new PendingCall(7, 'A1', 'do', undefined, 20, (c) => removed.push(c.id))
  call.node = 'b'
  t.ok(call.remaining() <= 20)
  // Deadline timers are unref'd: something must keep this process alive while the call waits.
  const alive = setTimeout(() => {}, 5000)
  const error = (await call.promise.catch((e: unknown) => e)) as CioError
  clearTimeout(alive)
  t.equal(error.code, codes.TIMEOUT)
  t.equal(error.details.node, 'b')
  call.resolve(1)
  call.reject(new Error('late'))
  t.same(removed, [7], 'removed once')
  t.ok(call.settled)
})
