/**
 * Encodes values into cio frames (layout drawn in `decoder.ts`): one
 * Buffer per frame, allocated once at its exact size, prefix and payload
 * written into it, so a frame goes to the socket in a single write.
 */
import { CioError, codes } from '../errors.js'
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from './decoder.js'

/**
 * Serialises `value` with `JSON.stringify`.
 * @throws CioError `INVALID_MESSAGE` when the value has no JSON form
 * (`undefined`, a function, a symbol) or cannot be serialised (a cycle, a
 * BigInt); the original error, if any, is the `cause`.
 */
export function toJson(value: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value) as string | undefined
  } catch (cause) {
    throw new CioError(codes.INVALID_MESSAGE, `value cannot be serialised as JSON: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  if (json === undefined) {
    throw new CioError(codes.INVALID_MESSAGE, `value of type ${typeof value} has no JSON form`, { details: { type: typeof value } })
  }
  return json
}

/**
 * Frames an already serialised JSON text.
 * @param json - JSON text (not checked: pass the output of `JSON.stringify`).
 * @param maxFrameBytes - the cap the receiving peer applies.
 * @throws CioError `FRAME_TOO_LARGE` when the UTF-8 payload exceeds the cap.
 */
export function encodeJsonFrame(json: string, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  // A UTF-16 unit is at least one UTF-8 byte: refuse huge strings before
  // scanning them for their exact byte length.
  const early = json.length > maxFrameBytes
  const length = early ? json.length : Buffer.byteLength(json, 'utf8')
  if (length > maxFrameBytes) {
    throw new CioError(codes.FRAME_TOO_LARGE, `message of ${early ? 'at least ' : ''}${length} bytes is above maxFrameBytes ${maxFrameBytes}`, {
      details: { length, maxFrameBytes },
    })
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length)
  frame.writeUInt32BE(length, 0)
  frame.write(json, FRAME_HEADER_BYTES, length, 'utf8')
  return frame
}

/**
 * Serialises and frames one value.
 * @throws CioError `INVALID_MESSAGE` (no JSON form) or `FRAME_TOO_LARGE`.
 */
export function encodeFrame(value: unknown, maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES): Buffer {
  return encodeJsonFrame(toJson(value), maxFrameBytes)
}
