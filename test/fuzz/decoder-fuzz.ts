/**
 * Fuzzes `FrameDecoder` in-process: seeded random and mutated byte streams,
 * fed in random chunkings, each checked against a reference model written
 * independently from the decoder (byte arithmetic for the prefix, the
 * WHATWG `TextDecoder` for UTF-8 instead of `buffer.isUtf8`).
 *
 * Used by `test/fuzz/decoder.test.ts` (CI size) and `bench/fuzz.ts` (a
 * million cases). A case is replayed from its seed alone.
 */
import { CioError, codes } from '../../lib/errors.js'
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder, type FrameSink } from '../../lib/frame/decoder.js'
import { DEFAULT_MAX_JSON_DEPTH } from '../../lib/frame/json-depth.js'
import { seeded, type Random } from '../helpers/random.js'
import { chunkings, frameOf, jsonText, mutate, payloadBytes, randomBytes, sameJson } from './gen.js'

/** What the reference model expects from a whole stream. */
export interface Expected {
  /** Values of the frames decoded before the end or the error. */
  values: unknown[]
  /** The error code that ends the stream, if any. */
  code?: 'FRAME_TOO_LARGE' | 'FRAME_INVALID'
  /** Bytes still held at the end (no error): a partial header or payload. */
  buffered: number
  /** Offset of the first byte not in a complete, valid frame. */
  end: number
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

/** Nesting of a parsed value: 0 for a scalar, 1 + the deepest child for an array or object. */
function depthOf(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0
  let deepest = 0
  for (const child of Object.values(value)) deepest = Math.max(deepest, depthOf(child))
  return deepest + 1
}

/**
 * The frame rules of README "Protocol", applied to a complete byte stream.
 * Deliberately naive: reads the whole stream at once.
 */
export function referenceDecode(stream: Uint8Array, max: number): Expected {
  const values: unknown[] = []
  let at = 0
  for (;;) {
    const left = stream.length - at
    if (left < 4) return { values, buffered: left, end: at }
    const length = (((stream[at] ?? 0) << 24) | ((stream[at + 1] ?? 0) << 16) | ((stream[at + 2] ?? 0) << 8) | (stream[at + 3] ?? 0)) >>> 0
    if (length === 0) return { values, code: 'FRAME_INVALID', buffered: 0, end: at }
    if (length > max) return { values, code: 'FRAME_TOO_LARGE', buffered: 0, end: at }
    if (left - 4 < length) return { values, buffered: left - 4, end: at }
    let text: string
    try {
      text = utf8.decode(stream.subarray(at + 4, at + 4 + length))
      const value: unknown = JSON.parse(text)
      if (depthOf(value) > DEFAULT_MAX_JSON_DEPTH) throw new Error('too deep')
      values.push(value)
    } catch {
      return { values, code: 'FRAME_INVALID', buffered: 0, end: at }
    }
    at += 4 + length
  }
}

/** Counts of what a fuzz run saw. */
export interface DecoderReport {
  cases: number
  bytes: number
  frames: number
  /** Streams that ended in an error, by code. */
  errors: Record<string, number>
  /** Streams that ended cleanly (possibly with a partial frame held). */
  clean: number
  /** Most bytes the decoder held after any push, over the run. */
  peakBuffered: number
  /** The first failures, each naming its seed; empty when all held. */
  failures: string[]
}

/** Options of {@link fuzzDecoder}. */
export interface DecoderFuzzOptions {
  /** First seed; case i uses seed + i. */
  seed: number
  cases: number
  /** Stop collecting failures after this many. @default 20 */
  maxFailures?: number
}

// Tiny caps make most frames too large: weighted toward the realistic ones.
const CAPS = [1, 5, 16, 64, 256, 1024, 1024, 65_536, 65_536, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_FRAME_BYTES] as const

/** A recording sink that may also destroy its decoder from inside onFrame, as an RPC owner does. */
class CheckingSink implements FrameSink {
  values: unknown[] = []
  errors: unknown[] = []
  framesAfterError = 0
  decoder: FrameDecoder | undefined
  constructor(readonly destroyAt: number) {}
  onFrame(value: unknown): void {
    if (this.errors.length > 0) this.framesAfterError++
    this.values.push(value)
    if (this.values.length === this.destroyAt) this.decoder?.destroy()
  }
  onFrameError(error: CioError): void {
    this.errors.push(error)
  }
}

/** One stream: a valid sequence of frames, sometimes mutated, sometimes pure noise. */
function makeStream(random: Random, max: number): { bytes: Buffer; valid: unknown[] | undefined } {
  const roll = random.next()
  if (roll < 0.05) return { bytes: randomBytes(random, random.int(0, 256)), valid: undefined }
  const count = random.int(1, 12)
  const frames: Buffer[] = []
  const boundaries: number[] = []
  const values: unknown[] = []
  let offset = 0
  for (let i = 0; i < count; i++) {
    const payload = roll < 0.35 ? Buffer.from(jsonText(random, { deepChance: 0.01 }), 'utf8') : payloadBytes(random)
    const frame = frameOf(payload)
    boundaries.push(offset)
    frames.push(frame)
    offset += frame.length
    if (roll < 0.35) values.push(JSON.parse(payload.toString('utf8')))
  }
  const stream = Buffer.concat(frames)
  // Mostly-valid streams are only a valid-stream oracle when the caps admit every frame.
  if (roll < 0.35) return { bytes: stream, valid: frames.every((f) => f.length - 4 <= max) && values.every((v) => depthOf(v) <= DEFAULT_MAX_JSON_DEPTH) ? values : undefined }
  let bytes: Buffer = stream
  const mutations = random.int(1, 3)
  for (let i = 0; i < mutations; i++) bytes = mutate(random, bytes, boundaries, max).bytes
  return { bytes, valid: undefined }
}

/** Runs one case; returns a failure description, or undefined when everything held. */
function runCase(seed: number, report: DecoderReport): string | undefined {
  const random = seeded(seed)
  const max = random.pick(CAPS)
  const { bytes, valid } = makeStream(random, max)
  const { chunks, chunking } = chunkings(random, bytes, [])
  const destroyAt = random.next() < 0.03 ? random.int(1, 3) : 0
  const sink = new CheckingSink(destroyAt)
  const decoder = new FrameDecoder(sink, { maxFrameBytes: max })
  sink.decoder = decoder
  const where = `seed ${seed} (max ${max}, ${bytes.length} bytes, ${chunks.length} chunks, ${chunking})`
  report.bytes += bytes.length
  for (const chunk of chunks) {
    try {
      decoder.push(chunk)
    } catch (error) {
      return `${where}: push threw ${String(error)}`
    }
    const held = decoder.bufferedBytes
    if (held > report.peakBuffered) report.peakBuffered = held
    if (held > max + 4) return `${where}: holds ${held} bytes, above maxFrameBytes + 4`
    if (decoder.dead && held !== 0) return `${where}: dead but still holds ${held} bytes`
  }
  // Input after the end, error or not, must change nothing for a dead decoder.
  const deadBefore = decoder.dead
  const seen = sink.values.length
  if (deadBefore) decoder.push(randomBytes(random, 16))
  if (deadBefore && sink.values.length !== seen) return `${where}: a dead decoder delivered a frame`
  report.frames += sink.values.length
  if (sink.errors.length > 1) return `${where}: ${sink.errors.length} errors reported, expected at most one`
  if (sink.framesAfterError > 0) return `${where}: frames delivered after the error`
  const error = sink.errors[0]
  if (error !== undefined && !(error instanceof CioError && (error.code === codes.FRAME_TOO_LARGE || error.code === codes.FRAME_INVALID))) {
    return `${where}: uncoded or unexpected error ${String(error)}`
  }
  if (error !== undefined && !decoder.dead) return `${where}: an error was reported but the decoder lives on`
  const expected = referenceDecode(bytes, max)
  if (destroyAt > 0 && expected.values.length >= destroyAt) {
    // The owner destroyed it after frame `destroyAt`: exactly those, and silence.
    if (sink.errors.length > 0 || sink.values.length !== destroyAt) return `${where}: destroy() at frame ${destroyAt} did not stop delivery silently`
    if (!sameJson(sink.values, expected.values.slice(0, destroyAt))) return `${where}: values before destroy() differ from the reference`
    report.clean++
    return undefined
  }
  if (!sameJson(sink.values, expected.values)) return `${where}: decoded ${sink.values.length} values, reference ${expected.values.length}, or they differ`
  if (valid !== undefined && !sameJson(sink.values, valid)) return `${where}: a valid stream did not decode to the values encoded`
  const code = error instanceof CioError ? error.code : undefined
  if (code !== expected.code) return `${where}: ended with ${code ?? 'no error'}, reference ${expected.code ?? 'no error'}`
  if (code === undefined && decoder.bufferedBytes !== expected.buffered) return `${where}: holds ${decoder.bufferedBytes} bytes at the end, reference ${expected.buffered}`
  if (code === undefined) report.clean++
  else report.errors[code] = (report.errors[code] ?? 0) + 1
  return undefined
}

/** Runs `cases` seeded cases; never throws, reports failures instead. */
export function fuzzDecoder(options: DecoderFuzzOptions): DecoderReport {
  const report: DecoderReport = { cases: 0, bytes: 0, frames: 0, errors: {}, clean: 0, peakBuffered: 0, failures: [] }
  const maxFailures = options.maxFailures ?? 20
  for (let i = 0; i < options.cases; i++) {
    const failure = runCase((options.seed + i) >>> 0, report)
    report.cases++
    if (failure !== undefined && report.failures.length < maxFailures) report.failures.push(failure)
  }
  return report
}
