import t from 'tap'
import { fuzzBudget } from './budget.js'
import { classify, rpcCase } from './rpc-cases.js'
import { checkPrototypes, fuzzRpc, startRpcTarget } from './rpc-fuzz.js'
import { collectUncaught } from '../helpers/uncaught.js'

const budget = fuzzBudget()

t.test('rpc fuzz - the oracle follows README "RPC messages" on known messages', async (t) => {
  const kind = (text: string): string => classify(JSON.parse(text)).kind
  t.equal(kind('{"id":1,"action":"a"}'), 'request')
  t.equal(kind('{"id":1e0,"action":"a","extra":[]}'), 'request', 'an integer written with an exponent is an integer')
  t.equal(kind('{"id":1,"result":null}'), 'response')
  t.equal(kind('{"id":1}'), 'response', 'a success without a value')
  t.equal(kind('{"id":1,"fault":{"code":"X","message":""}}'), 'response')
  t.equal(kind('{"id":1,"action":"a","meta":{"k":"v"},"timeout":0}'), 'request', 'meta and a timeout of 0')
  t.equal(kind('{"id":1,"result":1,"meta":{}}'), 'response', 'answers may carry meta')
  t.equal(kind('{"id":9007199254740991,"cancel":3}'), 'cancel')
  for (const bad of ['{"id":1,"action":"a","meta":[]}', '{"id":1,"meta":"x"}', '{"id":1,"action":"a","timeout":-1}', '{"id":1,"action":"a","timeout":"5"}', '{"id":2,"cancel":3}', '{"id":9007199254740991,"cancel":0}']) {
    t.equal(kind(bad), 'invalid', bad)
  }
  for (const bad of ['[]', 'null', '{"id":0,"action":"a"}', '{"id":9007199254740992,"action":"a"}', '{"id":1,"action":""}', '{"id":1,"action":"a","error":1}', '{"id":1,"result":1,"fault":{"code":"X","message":""}}', '{"id":1,"fault":{"code":"","message":""}}', '{"__proto__":{"id":1,"action":"a"}}', '{"id":1,"action":"a","id":"1"}']) {
    t.equal(kind(bad), 'invalid', bad)
  }
  const sample = Array.from({ length: 2000 }, (_, i) => rpcCase(i))
  t.ok(sample.filter((c) => c.outcome.closed).length > 200, 'the generator makes cases that must close')
  t.ok(sample.filter((c) => !c.outcome.closed).length > 200, 'and cases that must be answered')
})

t.test(`rpc fuzz - ${budget.rpc} random and mutated messages into a live server over sockets (seed ${budget.seed})`, async (t) => {
  const uncaught = collectUncaught(t)
  const target = await startRpcTarget()
  t.teardown(() => target.close())
  const report = await fuzzRpc(target, { seed: budget.seed, cases: budget.rpc })
  t.same(report.failures, [], 'every case ended as the protocol says: answered exactly, or closed with its code')
  t.same(uncaught, [], 'nothing was thrown out of cio')
  const failures: string[] = []
  checkPrototypes((text) => failures.push(text))
  t.same(failures, [], 'no built-in prototype changed')
  t.equal(report.cases, budget.rpc)
  t.ok(report.goodCalls > 0 && report.goodCalls === Math.ceil(budget.rpc / 500), `the good client was answered after every round (${report.goodCalls})`)
  for (const code of ['INVALID_MESSAGE', 'FRAME_INVALID', 'FRAME_TOO_LARGE']) t.ok((report.closed[code] ?? 0) > 0, `${code} reached (${report.closed[code] ?? 0})`)
  // Bounded memory: nothing pending or buffered on the connections left.
  let pending = 0
  let buffered = 0
  for (const peer of target.serverPeers) {
    pending += peer.pendingCalls
    buffered += peer.framed._decoder?.bufferedBytes ?? 0
  }
  t.equal(pending, 0, 'no server-side call left pending')
  t.equal(buffered, 0, 'no bytes left buffered by a server decoder')
  t.equal(target.protocolErrors.size, 0, 'every protocol error was accounted for')
  t.comment(`rpc fuzz: ${JSON.stringify({ ...report, failures: report.failures.length })}`)
})
