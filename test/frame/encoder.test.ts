import t from 'tap'
import { codes } from '../../lib/errors.js'
import { encodeFrame, encodeJsonFrame, toJson } from '../../lib/frame/encoder.js'
import { thrown } from '../helpers/errors.js'

t.test('frame encoder - a frame is the big-endian byte length then the UTF-8 JSON', async (t) => {
  const frame = encodeFrame({ text: 'é€😀' })
  const payload = Buffer.from(JSON.stringify({ text: 'é€😀' }), 'utf8')
  t.equal(frame.readUInt32BE(0), payload.length, 'length counts bytes, not characters')
  t.ok(frame.subarray(4).equals(payload))
  t.equal(frame.length, 4 + payload.length, 'one buffer of exactly the frame size')
})

t.test('frame encoder - values with no JSON form are INVALID_MESSAGE', async (t) => {
  const cycle: Record<string, unknown> = {}
  cycle.self = cycle
  const samples: Array<[string, unknown]> = [
    ['undefined', undefined],
    ['a function', () => 1],
    ['a symbol', Symbol('s')],
    ['a cycle', cycle],
    ['a BigInt', { n: 1n }],
  ]
  for (const [name, value] of samples) {
    const error = thrown(() => encodeFrame(value))
    t.equal(error.code, codes.INVALID_MESSAGE, name)
  }
  t.ok(thrown(() => toJson(cycle)).cause instanceof TypeError, 'the serialiser error is the cause')
})

t.test('frame encoder - a payload above maxFrameBytes is FRAME_TOO_LARGE, counted in bytes', async (t) => {
  t.equal(encodeJsonFrame('"€"', 5).length, 9, 'three bytes of € plus quotes fit in 5')
  const error = thrown(() => encodeJsonFrame('"€"', 4))
  t.equal(error.code, codes.FRAME_TOO_LARGE)
  t.same(error.details, { length: 5, maxFrameBytes: 4 })
  const early = thrown(() => encodeJsonFrame('"0123456789"', 4))
  t.equal(early.code, codes.FRAME_TOO_LARGE, 'long strings are refused before measuring')
  t.match(early.message, /at least 12 bytes/)
})
