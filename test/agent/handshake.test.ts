import t from 'tap'
import { createSecretKey, generateKeyPairSync } from 'node:crypto'
import { connect as netConnect, createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { connect as tlsConnect, createServer as createTlsServer, TLSSocket } from 'node:tls'
import { once } from 'node:events'
import { inspect } from 'node:util'
import { generate } from 'selfsigned'
import {
  channelBinding, clientProof, createNonce, encodeChallenge, encodeHello, encodeResponse, NONCE_BYTES,
  parseChallenge, parseHello, parseResponse, PROOF_BYTES, secretKey, serverProof, verifyProof, handshakeKey, HANDSHAKE_KDF, MIN_SECRET_BYTES,
} from '../../lib/agent/handshake.js'
import { createHmac, scryptSync } from 'node:crypto'
import { codes } from '../../lib/errors.js'

const secret = 'my secure shared secret'

t.test('handshake - a full exchange with the right secret succeeds both ways', async (t) => {
  const hello = parseHello(encodeHello({ nonce: createNonce(), name: 'A1' }))
  t.equal(hello.name, 'A1')
  const serverNonce = createNonce()
  const challenge = parseChallenge(encodeChallenge({ nonce: serverNonce, proof: serverProof(secret, hello.nonce, serverNonce) }))
  t.ok(verifyProof(serverProof(secret, hello.nonce, challenge.nonce), challenge.proof), 'agent accepts the server')
  const response = parseResponse(encodeResponse({ proof: clientProof(secret, hello.nonce, challenge.nonce) }))
  t.ok(verifyProof(clientProof(secret, hello.nonce, serverNonce), response.proof), 'server accepts the agent')
})

t.test('handshake - a hello without a name carries only the nonce', async (t) => {
  const nonce = createNonce()
  t.same(encodeHello({ nonce }), { nonce: nonce.toString('base64') })
  t.same(parseHello(encodeHello({ nonce })), { nonce })
})

t.test('handshake - nonces are fresh and 32 bytes; proofs are 32 bytes', async (t) => {
  const a = createNonce()
  t.equal(a.length, NONCE_BYTES)
  t.notSame(a, createNonce())
  t.equal(serverProof(secret, a, a).length, PROOF_BYTES)
})

t.test('handshake - a proof for one nonce pair fails for another (replay)', async (t) => {
  const clientNonce = createNonce()
  const recorded = clientProof(secret, clientNonce, createNonce())
  t.notOk(verifyProof(clientProof(secret, clientNonce, createNonce()), recorded), 'new server nonce')
  t.notOk(verifyProof(clientProof(secret, createNonce(), createNonce()), recorded), 'both new')
})

t.test('handshake - the server proof is not a client proof (reflection)', async (t) => {
  const [na, ns] = [createNonce(), createNonce()]
  t.notOk(verifyProof(clientProof(secret, na, ns), serverProof(secret, na, ns)))
  t.notOk(verifyProof(serverProof(secret, na, ns), clientProof(secret, na, ns)))
  t.notOk(verifyProof(clientProof(secret, ns, na), clientProof(secret, na, ns)), 'swapped nonces differ')
})

t.test('handshake - a wrong secret fails', async (t) => {
  const [na, ns] = [createNonce(), createNonce()]
  t.notOk(verifyProof(clientProof(secret, na, ns), clientProof('the wrong shared secret', na, ns)))
  t.notOk(verifyProof(serverProof(secret, na, ns), serverProof(secret + ' ', na, ns)))
})

t.test('handshake - string, Buffer and KeyObject secrets give the same proof', async (t) => {
  const [na, ns] = [createNonce(), createNonce()]
  const expected = clientProof(secret, na, ns)
  t.same(clientProof(Buffer.from(secret), na, ns), expected)
  t.same(clientProof(new Uint8Array(Buffer.from(secret)), na, ns), expected)
  t.same(clientProof(secretKey(secret), na, ns), expected)
  t.same(clientProof(createSecretKey(Buffer.from(secret)), na, ns), expected)
})

t.test('handshake - length prefixes keep field boundaries unambiguous', async (t) => {
  const a = Buffer.from('ab')
  const b = Buffer.from('c')
  t.notOk(verifyProof(clientProof(secret, a, b), clientProof(secret, Buffer.from('a'), Buffer.from('bc'))))
  t.notOk(verifyProof(clientProof(secret, a, b, Buffer.alloc(0)), clientProof(secret, a, b, Buffer.alloc(1))))
})

t.test('handshake - the channel binding is part of the proof', async (t) => {
  const [na, ns] = [createNonce(), createNonce()]
  t.notOk(verifyProof(clientProof(secret, na, ns, createNonce()), clientProof(secret, na, ns, createNonce())))
  t.ok(verifyProof(clientProof(secret, na, ns), clientProof(secret, na, ns, Buffer.alloc(0))), 'empty is the default')
})

t.test('handshake - an empty or missing secret is INVALID_OPTION and never shown', async (t) => {
  const publicKey = generateKeyPairSync('ed25519').publicKey
  for (const bad of ['', Buffer.alloc(0), createSecretKey(Buffer.alloc(0)), publicKey, undefined, null, 42, {}]) {
    t.throws(() => secretKey(bad), { code: codes.INVALID_OPTION, details: { option: 'secret' } }, String(bad))
  }
  t.throws(() => serverProof('', createNonce(), createNonce()), { code: codes.INVALID_OPTION })
  const key = secretKey(secret)
  t.equal(secretKey(key), key, 'a KeyObject is used as is')
  t.notMatch(inspect(key), secret)
})

t.test('handshake - secrets under 16 bytes are INVALID_OPTION, 16 are accepted', async (t) => {
  t.equal(MIN_SECRET_BYTES, 16)
  for (const bad of ['x', 'sunshine42', 'a'.repeat(15), Buffer.alloc(15, 1), createSecretKey(Buffer.alloc(15, 1))]) {
    t.throws(() => secretKey(bad), { code: codes.INVALID_OPTION, details: { option: 'secret', minBytes: 16 } }, String(bad))
  }
  t.throws(() => secretKey('ééééééé'), { code: codes.INVALID_OPTION }, '7 characters are 14 UTF-8 bytes')
  t.ok(secretKey('a'.repeat(16)))
  t.ok(secretKey('éééééééé'), '8 characters, 16 bytes')
})

t.test('handshake - the HMAC key is scrypt(secret) with the documented parameters, derived once per secret', async (t) => {
  const { N, r, p, keyBytes, salt, maxmem } = HANDSHAKE_KDF
  t.same({ N, r, p, keyBytes }, { N: 32768, r: 8, p: 1, keyBytes: 32 })
  const expected = scryptSync(Buffer.from(secret), salt, keyBytes, { N, r, p, maxmem })
  const key = handshakeKey(secret)
  t.same(key.export(), expected)
  t.equal(handshakeKey(secret), key, 'the same KeyObject again: derived once')
  t.equal(handshakeKey(Buffer.from(secret)), key, 'whatever form the secret comes in')
  t.equal(handshakeKey(key), key, 'a derived key is used as it is')
  const na = createNonce()
  const ns = createNonce()
  const hmac = createHmac('sha256', expected)
  for (const field of [Buffer.from('cio-agent/client'), na, ns, Buffer.alloc(0)]) {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(field.length)
    hmac.update(length).update(field)
  }
  t.same(clientProof(secret, na, ns), hmac.digest(), 'the proof is HMAC-SHA256 under the derived key')
})

t.test('handshake - verifyProof is false on a length mismatch or non-buffers, without throwing', async (t) => {
  const p = clientProof(secret, createNonce(), createNonce())
  t.notOk(verifyProof(p, p.subarray(0, 31)))
  t.notOk(verifyProof(p, Buffer.alloc(0)))
  // @ts-expect-error - hostile callers
  t.notOk(verifyProof(p, 'not a buffer'))
  t.ok(verifyProof(p, Buffer.from(p)))
})

t.test('handshake - channelBinding is empty for plain sockets', async (t) => {
  const server = createNetServer((s) => s.end())
  server.listen(0, '127.0.0.1')
  t.teardown(() => server.close())
  await once(server, 'listening')
  const socket = netConnect((server.address() as AddressInfo).port, '127.0.0.1')
  t.teardown(() => socket.destroy())
  await once(socket, 'connect')
  t.same(channelBinding(socket), Buffer.alloc(0))
})

t.test('handshake - TLS binding matches on both ends and differs per connection', async (t) => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', algorithm: 'sha256' })
  const serverEnds: TLSSocket[] = []
  const server = createTlsServer({ key: pems.private, cert: pems.cert }, (s) => serverEnds.push(s))
  server.listen(0, '127.0.0.1')
  t.teardown(() => server.close())
  await once(server, 'listening')
  const port = (server.address() as AddressInfo).port

  const bindings: Array<[Buffer, Buffer]> = []
  for (let i = 0; i < 2; i++) {
    const client = tlsConnect({ port, host: '127.0.0.1', ca: pems.cert, servername: 'localhost' })
    t.teardown(() => client.destroy())
    await once(client, 'secureConnect')
    while (serverEnds.length <= i) await once(server, 'secureConnection')
    const serverEnd = serverEnds[i] as TLSSocket
    t.teardown(() => serverEnd.destroy())
    bindings.push([channelBinding(client), channelBinding(serverEnd)])
  }
  const [[a1, a2], [b1, b2]] = bindings as [[Buffer, Buffer], [Buffer, Buffer]]
  t.equal(a1.length, 32)
  t.same(a1, a2, 'both ends of one connection agree')
  t.same(b1, b2)
  t.notSame(a1, b1, 'another connection binds to other bytes')
  const [na, ns] = [createNonce(), createNonce()]
  t.notOk(verifyProof(clientProof(secret, na, ns, b2), clientProof(secret, na, ns, a1)), 'a proof relayed into another session fails')
})

t.test('handshake - channelBinding refuses a TLS socket before its handshake', async (t) => {
  const raw = new TLSSocket(undefined as unknown as Socket)
  t.teardown(() => raw.destroy())
  t.throws(() => channelBinding(raw), { code: codes.INVALID_ARGUMENT })
})

const b64 = (bytes: number): string => Buffer.alloc(bytes, 7).toString('base64')
const hostile: unknown[] = [
  undefined, null, 42, 'text', [], [b64(32)], true,
  {}, { nonce: 42 }, { nonce: b64(31) }, { nonce: b64(33) }, { nonce: b64(32).slice(0, -1) },
  { nonce: b64(32).replace('=', '') + 'A' }, { nonce: 'x'.repeat(1e6) }, { nonce: b64(32).replace(/.$/, '*') },
  // 43 data chars carry 2 spare bits; non-zero spare bits are a second spelling of the same bytes
  { nonce: b64(32).slice(0, 42) + 'd=' },
  Object.create({ nonce: b64(32), proof: b64(32) }),
]

t.test('handshake - hostile message shapes are INVALID_MESSAGE', async (t) => {
  for (const message of hostile) {
    for (const parse of [parseHello, parseChallenge, parseResponse]) {
      t.throws(() => parse(message), { code: codes.INVALID_MESSAGE }, `${parse.name} ${JSON.stringify(message)?.slice(0, 60)}`)
    }
  }
})

t.test('handshake - hello names must be safe agent names', async (t) => {
  for (const name of ['', 'a'.repeat(129), 'a b', '../etc', null, 42, { toString: () => 'A1' }]) {
    t.throws(() => parseHello({ nonce: b64(32), name }), { code: codes.INVALID_MESSAGE, message: /"name"/ }, JSON.stringify(name))
  }
  t.same(parseHello({ nonce: b64(32), type: 'hello' }), { nonce: Buffer.alloc(32, 7) }, 'unknown fields are ignored')
})

t.test('handshake - challenge needs a proof and response a proof', async (t) => {
  t.throws(() => parseChallenge({ nonce: b64(32) }), { code: codes.INVALID_MESSAGE, message: /"proof"/ })
  t.throws(() => parseChallenge({ nonce: b64(32), proof: b64(16) }), { code: codes.INVALID_MESSAGE })
  t.throws(() => parseResponse({ nonce: b64(32) }), { code: codes.INVALID_MESSAGE })
})

t.test('handshake - a throwing getter becomes INVALID_MESSAGE, never anything else', async (t) => {
  const trap = Object.defineProperty({}, 'nonce', { enumerable: true, get: () => { throw new Error('boom') } })
  t.throws(() => parseHello(trap), { code: codes.INVALID_MESSAGE, message: /could not be read/ })
})
