import t from 'tap'
import { createHmac } from 'node:crypto'
import { batchItem, batchJson, clusterKey, decodeMessage, encodeMessage, signJson, type CallMessage, type ClusterMessage, type ReplyMessage } from '../../lib/cluster/wire.js'
import { handshakeKey } from '../../lib/agent/handshake.js'
import { failureToWire, outcomeFromWire } from '../../lib/cluster/outcomes.js'
import { Outbox } from '../../lib/cluster/outbox.js'
import { CioError, codes } from '../../lib/errors.js'

const key = clusterKey(handshakeKey('a secret of sixteen+ bytes'))
const call: ClusterMessage = { v: 1, t: 'call', id: 7, from: 'n1~abc', name: 'A1', action: 'do', body: { x: 1 }, ttl: 500 }

t.test('cluster wire - a signed message round-trips; the key depends on the secret', async (t) => {
  t.same(decodeMessage(key, encodeMessage(key, call), 4096), call)
  const other = clusterKey(handshakeKey('another secret, also long'))
  t.equal(decodeMessage(other, encodeMessage(key, call), 4096), 'signature')
})

t.test('cluster wire - malformed, oversized and tampered text is refused with its reason', async (t) => {
  const good = encodeMessage(key, call)
  t.equal(decodeMessage(key, good, good.length - 1), 'size', 'over the limit, before any hashing')
  t.equal(decodeMessage(key, 'short', 4096), 'signature')
  t.equal(decodeMessage(key, good.replace('"do"', '"DO"'), 4096), 'signature', 'a changed byte')
  const sign = (json: string): string => encodeMessage(key, JSON.parse(json) as ClusterMessage)
  t.equal(decodeMessage(key, sign('{"v":1,"t":"call","id":0,"from":"x","name":"A1","action":"a","ttl":5}'), 4096), 'shape', 'id 0')
  t.equal(decodeMessage(key, sign('{"v":1,"t":"call","id":1,"from":"x","name":"a b","action":"a","ttl":5}'), 4096), 'shape', 'a name outside the charset')
  t.equal(decodeMessage(key, sign('{"v":1,"t":"call","id":1,"from":"x","name":"A1","action":"","ttl":5}'), 4096), 'shape', 'an empty action')
  t.equal(decodeMessage(key, sign('{"v":1,"t":"reply","id":1,"node":"x","outcome":{"ok":false,"fault":{"code":"lower","message":"m"}},"delivered":true}'), 4096), 'shape', 'a fault code outside the format')
  t.equal(decodeMessage(key, sign('{"v":1,"t":"allReply","id":1,"node":"x","part":2,"parts":2,"results":{}}'), 4096), 'shape', 'a part past the parts')
  t.equal(decodeMessage(key, sign('{"v":1,"t":"nope","id":1}'), 4096), 'shape', 'an unknown type')
  const json = '{"v":1,"t":"call","id":1,"from":"x","name":"A1","action":"a","ttl":5,"body":{"__proto__":{"p":1}}}'
  const text = `${encodeMessage(key, call).slice(0, 43)}.${json}`
  t.equal(decodeMessage(key, text, 4096), 'signature', 'the signature covers the exact text')
})

t.test('cluster wire - a batch carries calls and answers, each checked as if alone (one bad item costs only itself)', async (t) => {
  const reply: ReplyMessage = { v: 1, t: 'reply', id: 3, node: 'n2~def', outcome: { ok: true, value: 1 }, delivered: true }
  const batch = signJson(key, batchJson([JSON.stringify(call), JSON.stringify(reply)]))
  t.same(decodeMessage(key, batch, 4096), { v: 1, t: 'batch', items: [call, reply] })
  const signed = (items: string[]): string => signJson(key, batchJson(items))
  t.equal(decodeMessage(key, signed([]), 4096), 'shape', 'no items')
  const items = (text: string): unknown[] => ((decodeMessage(key, text, 4096) as { items: unknown[] }).items).map(batchItem)
  t.same(items(signed([batchJson([JSON.stringify(call)])])), ['shape'], 'a batch inside a batch: that item is dropped')
  t.same(items(signed([JSON.stringify({ v: 1, t: 'all', id: 4, from: 'x', action: 'a', ttl: 5 })])), ['shape'], 'a fan-out inside a batch: dropped')
  t.same(items(signed([JSON.stringify({ ...call, id: 0 }), JSON.stringify(call), JSON.stringify({ ...call, action: 'x'.repeat(1025) })])), ['shape', call, 'shape'], 'bad items are dropped one by one; the good one is delivered')
  t.equal(decodeMessage(key, signJson(key, '{"v":1,"t":"batch","items":{"0":{}}}'), 4096), 'shape', 'items not an array')
})

t.test('cluster wire - prototype keys are dropped however the JSON spells them', async (t) => {
  const sign = (json: string): string => `${createHmac('sha256', key).update(json).digest('base64url')}.${json}`
  for (const [spelling, json] of [
    ['plain', '{"v":1,"t":"call","id":1,"from":"x","name":"A1","action":"a","ttl":5,"body":{"__proto__":{"p":1},"constructor":{"prototype":{"q":1}},"kept":1}}'],
    ['escaped', '{"v":1,"t":"call","id":1,"from":"x","name":"A1","action":"a","ttl":5,"body":{"\\u005f_proto__":{"p":1},"c\\u006fnstructor":{"prototype":{"q":1}},"kept":1}}'],
  ] as const) {
    const message = decodeMessage(key, sign(json), 4096) as CallMessage
    t.same(Object.keys(message.body as object), ['kept'], `${spelling}: only the harmless key is left`)
    t.equal(({} as Record<string, unknown>).p, undefined, `${spelling}: Object.prototype untouched`)
  }
})

t.test('cluster wire - outcomes: CioError as a fault with details.node, plain values unchanged', async (t) => {
  const fault = failureToWire(new CioError(codes.TIMEOUT, 'late', { details: { timeout: 5, self: undefined } }))
  const back = outcomeFromWire(fault, 'n2') as { ok: false; error: CioError }
  t.equal(back.error.code, codes.TIMEOUT)
  t.equal(back.error.details.node, 'n2')
  t.equal(back.error.details.timeout, 5)
  t.same(outcomeFromWire(failureToWire({ plain: 1 }), 'n2'), { ok: false, error: { plain: 1 } })
  const internal = outcomeFromWire(failureToWire(new TypeError('boom')), 'n2') as { ok: false; error: CioError }
  t.equal(internal.error.code, codes.INTERNAL_ERROR)
  const circular: Record<string, unknown> = {}
  circular.self = circular
  const safe = failureToWire(new CioError(codes.TIMEOUT, 'x', { details: circular }))
  t.same(safe, { ok: false, fault: { code: codes.TIMEOUT, message: 'x' } }, 'details that do not survive JSON are left out')
})

t.test('cluster outbox - dropCalls keeps the answers queued (they leave), drops the calls', async (t) => {
  const sent: Array<[string, string]> = []
  const outbox = new Outbox(async (node, text) => {
    sent.push([node, text])
    return 1
  }, key, 4096)
  const reply: ReplyMessage = { v: 1, t: 'reply', id: 3, node: 'n2~def', outcome: { ok: true, value: 1 }, delivered: true }
  const none = { sent() {}, failed() {} }
  outbox.push('n2', JSON.stringify(call), none)
  outbox.push('n2', JSON.stringify(reply), none, true)
  outbox.push('n3', JSON.stringify({ ...call, id: 8 }), none)
  outbox.dropCalls()
  outbox.flush()
  t.equal(sent.length, 1, 'one message: n3 had only a call')
  t.equal(sent[0]?.[0], 'n2')
  t.same(decodeMessage(key, sent[0]?.[1] ?? '', 4096), reply, 'the answer, alone')
})
