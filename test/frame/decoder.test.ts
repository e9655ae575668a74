import t from 'tap'
import { codes, type CioError } from '../../lib/errors.js'
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, resolveMaxFrameBytes, type FrameSink } from '../../lib/frame/decoder.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { thrown } from '../helpers/errors.js'
import { seeded, type Random } from '../helpers/random.js'

/** A sink that records everything, for assertions. */
class Recorder implements FrameSink {
  readonly values: unknown[] = []
  readonly errors: CioError[] = []
  onFrame(value: unknown): void {
    this.values.push(value)
  }
  onFrameError(error: CioError): void {
    this.errors.push(error)
  }
}

function decoder(maxFrameBytes?: number): { decoder: FrameDecoder; sink: Recorder } {
  const sink = new Recorder()
  return { decoder: new FrameDecoder(sink, { maxFrameBytes }), sink }
}

function header(length: number): Buffer {
  const buffer = Buffer.alloc(4)
  buffer.writeUInt32BE(length, 0)
  return buffer
}

function rawFrame(payload: Buffer): Buffer {
  return Buffer.concat([header(payload.length), payload])
}

const STRING_PARTS = ['a', 'hello', ' ', '"', '\\', '\n', 'é', '€', '日本', '😀', '\u2028', '__proto__', '']

function randomString(random: Random): string {
  let text = ''
  const parts = random.int(0, 6)
  for (let i = 0; i < parts; i++) text += random.pick(STRING_PARTS)
  return text
}

/** A random JSON value, depth-bounded so generation always ends. */
function randomJson(random: Random, depth = 0): unknown {
  const kind = random.int(0, depth >= 3 ? 4 : 6)
  switch (kind) {
    case 0: return null
    case 1: return random.next() < 0.5
    case 2: return random.int(-1e6, 1e6) / random.pick([1, 4, 1000])
    case 3: return randomString(random)
    case 4: return random.int(0, 2 ** 31)
    case 5: return Array.from({ length: random.int(0, 4) }, () => randomJson(random, depth + 1))
    default: {
      const object: Record<string, unknown> = {}
      const keys = random.int(0, 4)
      for (let i = 0; i < keys; i++) object[`${randomString(random)}${i}`] = randomJson(random, depth + 1)
      return object
    }
  }
}

/** Splits `bytes` into chunks whose sizes follow `size()`. */
function chunk(bytes: Buffer, size: () => number): Buffer[] {
  const chunks: Buffer[] = []
  for (let offset = 0; offset < bytes.length; ) {
    const end = Math.min(bytes.length, offset + Math.max(1, size()))
    chunks.push(bytes.subarray(offset, end))
    offset = end
  }
  return chunks
}

t.test('frame decoder - seeded random chunkings of random frame sequences decode exactly', async (t) => {
  const seeds = [1, 2, 3, 7, 42, 1234, 99991, 0xdecaf]
  for (const seed of seeds) {
    const random = seeded(seed)
    const values = Array.from({ length: random.int(1, 60) }, () => randomJson(random))
    const stream = Buffer.concat(values.map((value) => encodeFrame(value)))
    const strategies: Array<[string, () => number]> = [
      ['one byte at a time', () => 1],
      ['tiny chunks', () => random.int(1, 7)],
      ['mixed chunks', () => random.int(1, 300)],
      ['large chunks', () => random.int(100, 5000)],
      ['whole stream', () => stream.length],
    ]
    for (const [name, size] of strategies) {
      const { decoder: d, sink } = decoder()
      for (const piece of chunk(stream, size)) d.push(piece)
      t.same(sink.values, values, `seed ${seed}, ${name}: every value, in order`)
      t.equal(sink.errors.length, 0, `seed ${seed}, ${name}: no error`)
      t.equal(d.bufferedBytes, 0, `seed ${seed}, ${name}: nothing left over`)
    }
  }
})

t.test('frame decoder - many frames in one chunk, and empty chunks, are fine', async (t) => {
  const { decoder: d, sink } = decoder()
  const values = Array.from({ length: 1000 }, (_, i) => ({ i }))
  d.push(Buffer.alloc(0))
  d.push(Buffer.concat(values.map((value) => encodeFrame(value))))
  t.same(sink.values, values)
})

t.test('frame decoder - one large frame across many chunks is copied once and decoded', async (t) => {
  const { decoder: d, sink } = decoder()
  const value = { text: 'x€'.repeat(50_000) }
  const pieces = chunk(encodeFrame(value), () => 977)
  for (let i = 0; i < pieces.length - 1; i++) d.push(pieces[i] ?? Buffer.alloc(0))
  t.equal(sink.values.length, 0, 'nothing before the last byte')
  t.equal(d.bufferedBytes, pieces.reduce((sum, piece) => sum + piece.length, 0) - 4 - (pieces.at(-1)?.length ?? 0), 'holds the partial payload')
  d.push(pieces.at(-1) ?? Buffer.alloc(0))
  t.same(sink.values, [value])
})

t.test('frame decoder - the header itself may be split', async (t) => {
  const { decoder: d, sink } = decoder()
  const frame = encodeFrame([1, 2, 3])
  d.push(frame.subarray(0, 1))
  d.push(frame.subarray(1, 3))
  d.push(frame.subarray(3, 5))
  d.push(frame.subarray(5))
  t.same(sink.values, [[1, 2, 3]])
})

t.test('frame decoder - an oversize length is refused from the header alone, before buffering', async (t) => {
  const { decoder: d, sink } = decoder()
  const allocUnsafe = Buffer.allocUnsafe
  let largest = 0
  // Watch allocations during the push: none may be near the declared size.
  Buffer.allocUnsafe = (size: number) => {
    largest = Math.max(largest, size)
    return allocUnsafe(size)
  }
  t.teardown(() => {
    Buffer.allocUnsafe = allocUnsafe
  })
  d.push(Buffer.from([0xff, 0xff]))
  d.push(Buffer.from([0xff, 0xff]))
  Buffer.allocUnsafe = allocUnsafe
  t.equal(sink.errors.length, 1)
  t.equal(sink.errors[0]?.code, codes.FRAME_TOO_LARGE)
  t.match(sink.errors[0]?.message, /4294967295 bytes, above the limit of 8388608/)
  t.same(sink.errors[0]?.details, { length: 0xffffffff, maxFrameBytes: DEFAULT_MAX_FRAME_BYTES })
  t.ok(largest < 64, `no large allocation (largest ${largest})`)
  t.equal(d.bufferedBytes, 0)
  t.equal(d.dead, true)
})

t.test('frame decoder - maxFrameBytes is inclusive', async (t) => {
  const ok = decoder(7)
  ok.decoder.push(rawFrame(Buffer.from('"12345"')))
  t.same(ok.sink.values, ['12345'], 'exactly the cap is accepted')
  const tooBig = decoder(7)
  tooBig.decoder.push(header(8))
  t.equal(tooBig.sink.errors[0]?.code, codes.FRAME_TOO_LARGE, 'one more is refused')
})

t.test('frame decoder - a zero length is FRAME_INVALID', async (t) => {
  const { decoder: d, sink } = decoder()
  d.push(header(0))
  t.equal(sink.errors[0]?.code, codes.FRAME_INVALID)
  t.match(sink.errors[0]?.message, /zero-length/)
})

t.test('frame decoder - invalid UTF-8 is FRAME_INVALID', async (t) => {
  const samples: Array<[string, number[]]> = [
    ['a stray continuation byte', [0x22, 0x80, 0x22]],
    ['0xff', [0x22, 0xff, 0x22]],
    ['an overlong slash', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82]],
  ]
  for (const [name, bytes] of samples) {
    const { decoder: d, sink } = decoder()
    d.push(rawFrame(Buffer.from(bytes)))
    t.equal(sink.errors[0]?.code, codes.FRAME_INVALID, name)
    t.match(sink.errors[0]?.message, /not valid UTF-8/, name)
    t.same(sink.values, [], `${name}: nothing delivered`)
  }
})

t.test('frame decoder - text that is not JSON is FRAME_INVALID', async (t) => {
  for (const text of ['{"a":', 'undefined', "'single'", 'NaN', '{} {}', ' ']) {
    const { decoder: d, sink } = decoder()
    d.push(rawFrame(Buffer.from(text)))
    t.equal(sink.errors[0]?.code, codes.FRAME_INVALID, JSON.stringify(text))
    t.match(sink.errors[0]?.message, /not valid JSON/)
    t.ok(sink.errors[0]?.cause instanceof SyntaxError, 'the parse error is the cause')
  }
})

t.test('frame decoder - after an error it is dead: one report, later input ignored', async (t) => {
  const { decoder: d, sink } = decoder()
  d.push(Buffer.concat([encodeFrame('before'), header(0), encodeFrame('after')]))
  d.push(encodeFrame('later'))
  t.same(sink.values, ['before'], 'frames before the bad one were delivered')
  t.equal(sink.errors.length, 1, 'reported once')
  t.equal(d.dead, true)
  t.equal(d.bufferedBytes, 0, 'buffers released')
})

t.test('frame decoder - destroy() from inside onFrame stops delivery silently', async (t) => {
  const values: unknown[] = []
  let d: FrameDecoder | undefined
  const sink: FrameSink = {
    onFrame(value) {
      values.push(value)
      // As an owner rejecting the content would: mid-chunk.
      d?.destroy()
    },
    onFrameError() {
      t.fail('destroy() reports nothing')
    },
  }
  d = new FrameDecoder(sink)
  d.push(Buffer.concat([encodeFrame(1), encodeFrame(2)]))
  t.same(values, [1], 'the second frame of the chunk is not delivered')
  d.push(encodeFrame(3))
  t.same(values, [1], 'later input is ignored')
  t.equal(d.dead, true)
})

t.test('frame decoder - "__proto__" keys stay plain own properties', async (t) => {
  const { decoder: d, sink } = decoder()
  d.push(rawFrame(Buffer.from('{"__proto__":{"polluted":true},"a":1}')))
  const value = sink.values[0] as Record<string, unknown>
  t.ok(Object.hasOwn(value, '__proto__'), 'an own property')
  t.equal(Object.getPrototypeOf(value), Object.prototype, 'the prototype is unchanged')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched')
})

t.test('frame decoder - maxFrameBytes is checked at construction', async (t) => {
  t.equal(resolveMaxFrameBytes(undefined), 8 * 1024 * 1024, 'defaults to 8 MiB')
  for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN, '10']) {
    const error = thrown(() => new FrameDecoder(new Recorder(), { maxFrameBytes: bad as number }))
    t.equal(error.code, codes.INVALID_OPTION, String(bad))
    t.match(error.message, /maxFrameBytes/)
  }
})
