import { once } from 'node:events'
import t from 'tap'
import { agentActions, answerReservedAction, HEARTBEAT_ID, isAgentName, isReservedAction, parseWelcome, PING_FRAME, PONG_FRAME, RESERVED_PREFIX } from '../../lib/agent/protocol.js'
import { codes } from '../../lib/errors.js'
import { rawFrame } from '../helpers/framing.js'
import { peerWithRawEnd } from '../helpers/rpc.js'

t.test('protocol - the reserved actions all start with the reserved prefix, and only they count as reserved', async (t) => {
  t.equal(RESERVED_PREFIX, 'cio.')
  t.same(agentActions, { HELLO: 'cio.hello', PROVE: 'cio.prove', PING: 'cio.ping', DRAIN: 'cio.drain' })
  for (const action of Object.values(agentActions)) t.ok(isReservedAction(action), action)
  t.ok(isReservedAction('cio.anything'))
  for (const action of ['echo', 'cio', 'CIO.ping', 'xcio.ping', ' cio.ping', '']) t.notOk(isReservedAction(action), JSON.stringify(action))
})

t.test('protocol - heartbeat frames are encoded once with the largest safe id', async (t) => {
  t.equal(HEARTBEAT_ID, Number.MAX_SAFE_INTEGER)
  t.same(PING_FRAME, rawFrame('{"id":9007199254740991,"action":"cio.ping"}'))
  t.same(PONG_FRAME, rawFrame('{"id":9007199254740991}'))
})

t.test('protocol - agent names: safe names that are not properties of every object', async (t) => {
  for (const name of ['A1', 'agent-7', 'a.b_c', 'x'.repeat(128)]) t.ok(isAgentName(name), name)
  for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__']) t.notOk(isAgentName(name), `${name} is on Object.prototype`)
  for (const name of ['', 'x'.repeat(129), '../A1', 'a b', 'a/b', 42, null, undefined, ['A1']]) t.notOk(isAgentName(name), JSON.stringify(name) ?? String(name))
})

t.test('protocol - parseWelcome takes { name, firstTime } with a valid name', async (t) => {
  t.same(parseWelcome({ name: 'A1', firstTime: true }), { name: 'A1', firstTime: true })
  t.same(parseWelcome({ name: 'A2', firstTime: false, extra: 1 }), { name: 'A2', firstTime: false }, 'other fields are dropped')
})

t.test('protocol - parseWelcome refuses anything else with INVALID_MESSAGE', async (t) => {
  const refused = { code: codes.INVALID_MESSAGE, message: /Invalid handshake welcome/, details: { kind: 'welcome' } }
  const cases: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['null', null],
    ['a string', 'A1'],
    ['an array', ['A1', true]],
    ['no firstTime', { name: 'A1' }],
    ['no name', { firstTime: true }],
    ['firstTime not a boolean', { name: 'A1', firstTime: 'yes' }],
    ['an unsafe name', { name: '../A1', firstTime: true }],
    ['the name __proto__', JSON.parse('{"name":"__proto__","firstTime":true}')],
    ['the name constructor', { name: 'constructor', firstTime: true }],
    ['inherited fields', Object.create({ name: 'A1', firstTime: true })],
  ]
  for (const [name, value] of cases) t.throws(() => parseWelcome(value), refused, name)
})

t.test('protocol - a ping is answered at once, the heartbeat ping with the pre-encoded pong', async (t) => {
  const { peer, raw, reader } = await peerWithRawEnd(t)
  answerReservedAction(peer, { id: 7, action: agentActions.PING })
  t.same(await reader.next(), { id: 7 })
  const bytes = once(raw, 'data') as Promise<[Buffer]>
  answerReservedAction(peer, { id: HEARTBEAT_ID, action: agentActions.PING })
  t.same((await bytes)[0], PONG_FRAME)
})

t.test('protocol - other reserved actions are refused with UNKNOWN_ACTION, and the connection stays', async (t) => {
  const { peer, reader } = await peerWithRawEnd(t)
  answerReservedAction(peer, { id: 3, action: 'cio.whatever' })
  t.same(await reader.next(), { id: 3, fault: { code: codes.UNKNOWN_ACTION, message: 'no handler for the reserved action "cio.whatever"' } })
  answerReservedAction(peer, { id: 4, action: agentActions.HELLO })
  t.match(await reader.next(), { id: 4, fault: { code: codes.UNKNOWN_ACTION } }, 'a hello after the handshake too')
  t.equal(peer.closed, false)
})
