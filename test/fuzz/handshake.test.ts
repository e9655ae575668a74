import { randomBytes } from 'node:crypto'
import t from 'tap'
import { clientProof } from '../../lib/agent/handshake.js'
import { AgentServer, type AgentRecord } from '../../lib/agent/index.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { closed, rawConnect, RawReader } from '../helpers/framing.js'
import { fuzzBudget } from './budget.js'
import { handshakeCase } from './handshake-cases.js'
import { fuzzHandshake, HANDSHAKE_SECRET, startHandshakeTarget } from './handshake-fuzz.js'
import { collectUncaught } from '../helpers/uncaught.js'

const budget = fuzzBudget()

t.test('handshake fuzz - the generator reaches every outcome', async (t) => {
  const seen = new Set<string>()
  for (let seed = 0; seed < 3000; seed++) {
    const { outcome } = handshakeCase(seed)
    seen.add(outcome.end === 'refused' || outcome.end === 'protocol' ? `${outcome.end}:${outcome.code}` : outcome.end)
  }
  for (const outcome of ['admitted', 'timeout', 'refused:NOT_AUTHORIZED', 'refused:INVALID_MESSAGE', 'refused:WRONG_SECRET', 'refused:DUPLICATE_ID', 'protocol:INVALID_MESSAGE', 'protocol:FRAME_INVALID', 'protocol:FRAME_TOO_LARGE']) {
    t.ok(seen.has(outcome), outcome)
  }
})

t.test(`handshake fuzz - ${budget.handshake} random and mutated handshakes into a live AgentServer (seed ${budget.seed})`, async (t) => {
  const uncaught = collectUncaught(t)
  const target = await startHandshakeTarget()
  t.teardown(() => target.close())
  const report = await fuzzHandshake(target, { seed: budget.seed, cases: budget.handshake })
  t.same(report.failures, [], 'every case ended as the rules say, with its code, and its connection closed')
  t.same(uncaught, [], 'nothing was thrown out of cio')
  t.equal(report.cases, budget.handshake)
  t.equal(report.goodCalls, Math.ceil(budget.handshake / 500), 'the real agent was answered, both ways, after every round')
  t.equal(target.server.getAgents().length + target.quick.getAgents().length, 1, 'only the real agent is left connected')
  t.ok((target.errors.get('WRONG_SECRET') ?? 0) > 0, `WRONG_SECRET reported to the server's owner (${target.errors.get('WRONG_SECRET') ?? 0})`)
  t.comment(`handshake fuzz: ${JSON.stringify({ ...report, failures: report.failures.length })}`)
})

// Found by the fuzzer: a refused connection kept being read, so a request
// already behind the refused one could still get the agent in (announced,
// hooks reachable, on a socket that could no longer answer), and a second
// cio.prove after WRONG_SECRET made the interceptor throw (INTERNAL_ERROR).
t.test('handshake - nothing a connection sends after it was turned away counts', async (t) => {
  const target = await startHandshakeTarget()
  t.teardown(() => target.close())
  const announced: string[] = []
  target.server.on('agentConnected', (agent: AgentRecord) => announced.push(agent.name))
  const frame = (id: number, action: string, body: unknown): Buffer => encodeFrame({ id, action, body })
  for (const [name, second, code] of [
    ['a bad proof, then the right one', 'correct', 'INVALID_MESSAGE'],
    ['a wrong proof, then another', 'random', 'WRONG_SECRET'],
    ['the right proof, then a second prove', 'correct', 'NOT_AUTHORIZED'],
  ] as const) {
    const socket = await rawConnect(t, target.port)
    const reader = new RawReader(socket)
    const nonce = randomBytes(32)
    socket.write(frame(1, 'cio.hello', { nonce: nonce.toString('base64') }))
    const challenge = (await reader.next()) as { result: { nonce: string } }
    const correct = { proof: clientProof(HANDSHAKE_SECRET, nonce, Buffer.from(challenge.result.nonce, 'base64')).toString('base64') }
    const first = code === 'INVALID_MESSAGE' ? { proof: 'short' } : code === 'WRONG_SECRET' ? { proof: randomBytes(32).toString('base64') } : correct
    const then = second === 'correct' ? correct : { proof: randomBytes(32).toString('base64') }
    // One write: the second prove is already read when the first is refused.
    socket.write(Buffer.concat([frame(2, 'cio.prove', first), frame(3, 'cio.prove', then)]))
    const refusal = (await reader.next()) as { id: number; fault?: { code: string } }
    await closed(socket)
    const refusedId = code === 'NOT_AUTHORIZED' ? 3 : 2
    t.same([refusal.id, refusal.fault?.code], [refusedId, code], `${name}: refused with ${code}`)
    t.same(announced, [], `${name}: never announced`)
    t.same([...target.reports.values()].flat().map((error) => (error as { code?: string }).code).filter((c) => c === 'INTERNAL_ERROR'), [], `${name}: no internal error`)
  }
  t.equal(target.server.getAgents().length, 1, 'only the real agent is connected')
})

// Found while fuzzing: a connection that closed while the server was still
// loading its name store kept the name it claimed, so the agent coming back
// under that name got DUPLICATE_ID until the server restarted.
t.test('handshake - a connection that closes while the name store loads does not keep its name', async (t) => {
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => (release = resolve))
  const store = { load: async () => (await gate, { counter: 0 }), save: async () => {} }
  const server = new AgentServer({ secret: HANDSHAKE_SECRET, port: 0, host: '127.0.0.1', dataStore: store, noRelisten: true })
  t.teardown(() => server.close())
  const { port } = await server.ready()
  const handshake = async (extra: Buffer): Promise<unknown> => {
    const socket = await rawConnect(t, port)
    const reader = new RawReader(socket)
    const nonce = randomBytes(32)
    socket.write(encodeFrame({ id: 1, action: 'cio.hello', body: { nonce: nonce.toString('base64'), name: 'Zed' } }))
    const challenge = (await reader.next()) as { result: { nonce: string } }
    const proof = clientProof(HANDSHAKE_SECRET, nonce, Buffer.from(challenge.result.nonce, 'base64')).toString('base64')
    // With `extra`, the proof is followed in the same write by a frame that breaks the connection.
    socket.write(Buffer.concat([encodeFrame({ id: 2, action: 'cio.prove', body: { proof } }), extra]))
    return extra.length > 0 ? closed(socket) : reader.next()
  }
  await handshake(Buffer.from([0, 0, 0, 0]))
  release()
  const welcome = (await handshake(Buffer.alloc(0))) as { result?: { name: string }; fault?: { code: string } }
  t.same(welcome.result, { name: 'Zed', firstTime: false }, 'the agent gets its name back, not DUPLICATE_ID')
})
