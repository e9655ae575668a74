/**
 * The cryptography of the agent handshake: a mutual challenge-response in
 * which the shared secret never travels.
 *
 *   agent                                        server
 *     hello     { nonce: Na, name? }       -->
 *               <--   challenge { nonce: Ns, proof: HMAC(k, "cio-agent/server", Na, Ns, B) }
 *     (agent checks the server's proof; a server without the secret stops here)
 *     response  { proof: HMAC(k, "cio-agent/client", Na, Ns, B) }  -->
 *                                                (server checks the agent's proof)
 *
 * Fresh nonces on both sides make a recorded handshake useless later
 * (replay); the direction label keeps one side's proof from being sent back
 * as the other's (reflection); B, the TLS session's exported keying material
 * (empty on plain TCP), ties the proofs to this one TLS session so they
 * cannot be relayed into another. Each field enters the HMAC with a length
 * prefix, so no two different field lists hash the same bytes.
 *
 * k is not the secret itself but scrypt(secret) (see `HANDSHAKE_KDF`): the
 * server's proof goes to anyone who says hello, and with it each guess of
 * the secret can be tested offline; scrypt makes every such guess cost
 * tens of milliseconds and 32 MiB instead of a microsecond. k is derived
 * once per process and secret, off the event loop (`deriveHandshakeKey`).
 */
import { createHash, createHmac, createSecretKey, KeyObject, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto'
import type { Socket } from 'node:net'
import { TLSSocket } from 'node:tls'
import { CioError, codes, describeError } from '../errors.js'
import { isSafeName } from './names.js'

/** Bytes in a handshake nonce. */
export const NONCE_BYTES = 32
/** Bytes in a handshake proof (an HMAC-SHA256). */
export const PROOF_BYTES = 32
/** Label given to `exportKeyingMaterial` for the channel binding. */
export const BINDING_LABEL = 'EXPORTER-cio-agent'

/** A shared secret as a user gives it, or as `secretKey()` made it. */
export type Secret = string | Uint8Array | KeyObject

/** Shortest secret accepted, in bytes (UTF-8 for a string). */
export const MIN_SECRET_BYTES = 16

/**
 * How the handshake key is derived from the secret: scrypt from
 * `node:crypto` with these parameters (N = 2^15, r = 8, p = 1: 32 MiB and
 * 100-270 ms of one core per derivation here), a fixed salt naming the protocol, and a
 * 32-byte output.
 */
export const HANDSHAKE_KDF = { N: 32768, r: 8, p: 1, keyBytes: 32, salt: 'cio-agent/v1 handshake key', maxmem: 64 * 1024 * 1024 } as const

/**
 * Checks a secret once and wraps it in a `KeyObject`, which does not print
 * its bytes when logged or inspected. Throws `INVALID_OPTION` (naming
 * `secret`, never showing it) when it is missing, shorter than 16 bytes or
 * of another type.
 */
export function secretKey(secret: unknown): KeyObject {
  if (secret instanceof KeyObject && secret.type === 'secret' && Number(secret.symmetricKeySize) >= MIN_SECRET_BYTES) return secret
  if (typeof secret === 'string' || secret instanceof Uint8Array) {
    const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
    if (bytes.length >= MIN_SECRET_BYTES) return createSecretKey(bytes)
  }
  throw new CioError(codes.INVALID_OPTION, `The "secret" option is required: a string or Buffer of at least ${MIN_SECRET_BYTES} bytes (a long random one; it is the only thing between a stranger and your agents).`, {
    details: { option: 'secret', minBytes: MIN_SECRET_BYTES },
  })
}

/** Keys made here: given again, they are used as they are. */
const derivedKeys = new WeakSet<KeyObject>()
/**
 * Derivations by a hash of their secret, so that many agents of one process
 * derive once: the promise while scrypt runs, then the key as well.
 */
const derivedBySecret = new Map<string, { promise: Promise<KeyObject>; key?: KeyObject }>()
const MAX_CACHED_KEYS = 64
/** scrypt runs started by this process (see {@link derivationCount}). */
let derivations = 0

/** How many times this process has run the handshake's scrypt: tests and diagnostics check that many agents of one secret derive once. */
export function derivationCount(): number {
  return derivations
}

function cacheId(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('base64')
}

function remember(id: string, entry: { promise: Promise<KeyObject>; key?: KeyObject }): void {
  if (derivedBySecret.size >= MAX_CACHED_KEYS) derivedBySecret.delete(derivedBySecret.keys().next().value as string)
  derivedBySecret.set(id, entry)
}

function keep(raw: Buffer): KeyObject {
  const key = createSecretKey(raw)
  derivedKeys.add(key)
  return key
}

/**
 * The HMAC key of the handshake for a secret: scrypt(secret) with
 * {@link HANDSHAKE_KDF}, run on libuv's threadpool so the event loop keeps
 * serving every other connection meanwhile (100-270 ms). Derived once per
 * process and secret: callers during a derivation share it, later ones get
 * the same KeyObject; a failed derivation is forgotten, so the next call
 * tries again. A key this function made is used as it is. Throws
 * `INVALID_OPTION` at once, like {@link secretKey}; rejects with the
 * error of `crypto.scrypt` if it fails.
 */
export function deriveHandshakeKey(secret: Secret): Promise<KeyObject> {
  if (secret instanceof KeyObject && derivedKeys.has(secret)) return Promise.resolve(secret)
  const bytes = secretKey(secret).export()
  const id = cacheId(bytes)
  const cached = derivedBySecret.get(id)
  if (cached !== undefined) return cached.promise
  const { N, r, p, keyBytes, salt, maxmem } = HANDSHAKE_KDF
  derivations += 1
  const entry: { promise: Promise<KeyObject>; key?: KeyObject } = {
    promise: new Promise<KeyObject>((resolve, reject) => {
      scrypt(bytes, salt, keyBytes, { N, r, p, maxmem }, (error, raw) => {
        if (error !== null) {
          if (derivedBySecret.get(id) === entry) derivedBySecret.delete(id)
          reject(error)
          return
        }
        entry.key = keep(raw)
        resolve(entry.key)
      })
    }),
  }
  remember(id, entry)
  return entry.promise
}

/**
 * {@link deriveHandshakeKey}, blocking the event loop for the derivation
 * unless the key is already derived: for tests and tools that compute
 * proofs by hand, never on a path that serves connections.
 */
export function handshakeKey(secret: Secret): KeyObject {
  if (secret instanceof KeyObject && derivedKeys.has(secret)) return secret
  const bytes = secretKey(secret).export()
  const id = cacheId(bytes)
  const cached = derivedBySecret.get(id)
  if (cached?.key !== undefined) return cached.key
  const { N, r, p, keyBytes, salt, maxmem } = HANDSHAKE_KDF
  derivations += 1
  const key = keep(scryptSync(bytes, salt, keyBytes, { N, r, p, maxmem }))
  // An asynchronous derivation in flight keeps its entry; its callers get an equal key.
  if (cached === undefined) remember(id, { promise: Promise.resolve(key), key })
  return key
}

/** A fresh random nonce of `NONCE_BYTES` bytes. */
export function createNonce(): Buffer {
  return randomBytes(NONCE_BYTES)
}

function proof(label: string, secret: Secret, clientNonce: Uint8Array, serverNonce: Uint8Array, binding: Uint8Array): Buffer {
  const hmac = createHmac('sha256', handshakeKey(secret))
  for (const field of [Buffer.from(label), clientNonce, serverNonce, binding]) {
    const length = Buffer.allocUnsafe(4)
    length.writeUInt32BE(field.length)
    hmac.update(length).update(field)
  }
  return hmac.digest()
}

/** The server's proof of the secret for this nonce pair and channel binding. */
export function serverProof(secret: Secret, clientNonce: Uint8Array, serverNonce: Uint8Array, binding: Uint8Array = Buffer.alloc(0)): Buffer {
  return proof('cio-agent/server', secret, clientNonce, serverNonce, binding)
}

/** The agent's proof of the secret for this nonce pair and channel binding. */
export function clientProof(secret: Secret, clientNonce: Uint8Array, serverNonce: Uint8Array, binding: Uint8Array = Buffer.alloc(0)): Buffer {
  return proof('cio-agent/client', secret, clientNonce, serverNonce, binding)
}

/**
 * Compares two proofs in constant time. A length mismatch (which reveals
 * nothing about the secret) is false, not an exception.
 */
export function verifyProof(expected: Uint8Array, received: Uint8Array): boolean {
  if (!(expected instanceof Uint8Array) || !(received instanceof Uint8Array)) return false
  return expected.length === received.length && timingSafeEqual(expected, received)
}

/**
 * The channel binding for a socket: 32 bytes of keying material exported
 * from its TLS session, or an empty Buffer for a plain TCP socket. Both ends
 * of one TLS connection get the same bytes; other connections get others.
 * Throws `INVALID_ARGUMENT` for a TLS socket whose handshake has not
 * completed, rather than silently binding to nothing.
 */
export function channelBinding(socket: Socket | TLSSocket): Buffer {
  if (!(socket instanceof TLSSocket)) return Buffer.alloc(0)
  try {
    // Both ends call this same function, so the (empty) context always matches.
    return socket.exportKeyingMaterial(32, BINDING_LABEL, Buffer.alloc(0))
  } catch (cause) {
    throw new CioError(codes.INVALID_ARGUMENT, `Cannot bind the handshake to a TLS session that is not established (${describeError(cause)}).`, { cause })
  }
}

/** The agent's first message, decoded. */
export interface ClientHello {
  nonce: Buffer
  /** The name the agent had before, if it is coming back. */
  name?: string
}

/** The server's answer, decoded. */
export interface ServerChallenge {
  nonce: Buffer
  proof: Buffer
}

/** The agent's last message, decoded. */
export interface ClientResponse {
  proof: Buffer
}

/** The hello as sent: `{ nonce, name? }` with the nonce in base64. */
export function encodeHello(hello: ClientHello): { nonce: string; name?: string } {
  return hello.name === undefined ? { nonce: hello.nonce.toString('base64') } : { nonce: hello.nonce.toString('base64'), name: hello.name }
}

/** The challenge as sent: `{ nonce, proof }` in base64. */
export function encodeChallenge(challenge: ServerChallenge): { nonce: string; proof: string } {
  return { nonce: challenge.nonce.toString('base64'), proof: challenge.proof.toString('base64') }
}

/** The response as sent: `{ proof }` in base64. */
export function encodeResponse(response: ClientResponse): { proof: string } {
  return { proof: response.proof.toString('base64') }
}

class InvalidMessage extends Error {}

// Own properties only: an inherited `nonce` (say, on a polluted prototype)
// must not count as sent.
function field(message: object, key: string): unknown {
  return Object.hasOwn(message, key) ? (message as Record<string, unknown>)[key] : undefined
}

/** Exactly `bytes` bytes in canonical, padded base64; nothing lenient. */
function base64Field(message: object, key: string, bytes: number): Buffer {
  const value = field(message, key)
  // The length check runs first so a huge string is never decoded.
  if (typeof value !== 'string' || value.length !== Math.ceil(bytes / 3) * 4) throw new InvalidMessage(`"${key}" must be ${bytes} bytes in base64`)
  const decoded = Buffer.from(value, 'base64')
  if (decoded.length !== bytes || decoded.toString('base64') !== value) throw new InvalidMessage(`"${key}" must be ${bytes} bytes in base64`)
  return decoded
}

/** Runs a decoder and turns any failure into one `INVALID_MESSAGE` error. */
function decode<T>(kind: string, message: unknown, read: (message: object) => T): T {
  try {
    if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new InvalidMessage('it is not an object')
    return read(message)
  } catch (cause) {
    // Only our own reasons are shown: describing a hostile object could run its code again.
    const why = cause instanceof InvalidMessage ? cause.message : 'it could not be read'
    throw new CioError(codes.INVALID_MESSAGE, `Invalid handshake ${kind}: ${why}.`, { cause, details: { kind } })
  }
}

/**
 * Decodes an agent's hello. Throws `INVALID_MESSAGE` unless `nonce` is 32
 * bytes in base64 and `name`, when present, is a safe agent name. Fields
 * not listed are ignored, so the hello may share an envelope with others.
 */
export function parseHello(message: unknown): ClientHello {
  return decode('hello', message, (m) => {
    const nonce = base64Field(m, 'nonce', NONCE_BYTES)
    if (!Object.hasOwn(m, 'name')) return { nonce }
    const name = field(m, 'name')
    if (!isSafeName(name)) throw new InvalidMessage('"name" must be 1 to 128 letters, digits, ".", "_" or "-"')
    return { nonce, name }
  })
}

/** Decodes the server's challenge; throws `INVALID_MESSAGE` unless both fields are 32 bytes in base64. */
export function parseChallenge(message: unknown): ServerChallenge {
  return decode('challenge', message, (m) => ({ nonce: base64Field(m, 'nonce', NONCE_BYTES), proof: base64Field(m, 'proof', PROOF_BYTES) }))
}

/** Decodes the agent's response; throws `INVALID_MESSAGE` unless `proof` is 32 bytes in base64. */
export function parseResponse(message: unknown): ClientResponse {
  return decode('response', message, (m) => ({ proof: base64Field(m, 'proof', PROOF_BYTES) }))
}
