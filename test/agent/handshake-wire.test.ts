import { once } from 'node:events'
import net from 'node:net'
import type tls from 'node:tls'
import t, { type Test } from 'tap'
import { channelBinding, clientProof, createNonce, encodeHello, encodeResponse, NONCE_BYTES, parseChallenge, serverProof } from '../../lib/agent/handshake.js'
import { codes, type CioError } from '../../lib/errors.js'
import { cioRejection, closed, rawConnect, RawReader, writeValue } from '../helpers/framing.js'
import { netPair } from '../helpers/rpc.js'
import { testCerts } from '../helpers/certs.js'
import { listenLocal } from '../helpers/net.js'
import { makeAgent, next, readyAgent, SECRET, startProxy, startServer, TRANSPORTS } from '../helpers/agents.js'

type Reply = { id: number; result?: Record<string, unknown>; fault?: { code: string; message: string } }

async function rawOptions(secure: boolean): Promise<false | tls.ConnectionOptions> {
  return secure ? { ca: (await testCerts()).ca.cert, servername: 'localhost' } : false
}

/** A raw socket to an agent server, with a frame reader. */
async function raw(t: Test, port: number, secure: boolean): Promise<{ socket: net.Socket; reader: RawReader; ask(value: unknown): Promise<Reply> }> {
  const socket = await rawConnect(t, port, await rawOptions(secure))
  const reader = new RawReader(socket)
  return { socket, reader, ask: (value) => (writeValue(socket, value), reader.next() as Promise<Reply>) }
}

/** The agent's side of the handshake written by hand, as a foreign implementation would. */
async function handshakeByHand(t: Test, ask: (value: unknown) => Promise<Reply>, socket: net.Socket, name?: string): Promise<{ welcome: Reply; prove: unknown; serverNonce: string }> {
  const nonce = createNonce()
  const reply = await ask({ id: 1, action: 'cio.hello', body: encodeHello(name === undefined ? { nonce } : { nonce, name }) })
  const challenge = parseChallenge(reply.result)
  const binding = channelBinding(socket)
  t.same(challenge.proof, serverProof(SECRET, nonce, challenge.nonce, binding), 'the server proved the secret')
  const prove = { id: 2, action: 'cio.prove', body: encodeResponse({ proof: clientProof(SECRET, nonce, challenge.nonce, binding) }) }
  return { welcome: await ask(prove), prove, serverNonce: challenge.nonce.toString('base64') }
}

/** The server nonce of a challenge as sent, checked to be NONCE_BYTES bytes in canonical base64. */
function serverNonceOf(t: Test, reply: Reply): string {
  const nonce = reply.result?.nonce
  if (typeof nonce !== 'string') {
    t.fail('the challenge carries a nonce string', { reply })
    return ''
  }
  const bytes = Buffer.from(nonce, 'base64')
  t.equal(bytes.length, NONCE_BYTES, `the server nonce is ${NONCE_BYTES} bytes`)
  t.equal(bytes.toString('base64'), nonce, '...in canonical, padded base64')
  return nonce
}

for (const { secure, name: transport } of TRANSPORTS) {
  t.test(`handshake wire - a request before the handshake gets NOT_AUTHORIZED and the connection is ended (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    let connected = false
    server.on('agentConnected', () => (connected = true))
    server.onHook('echo', (message) => message)
    for (const action of ['echo', 'cio.ping', 'cio.whatever']) {
      const { socket, ask } = await raw(t, port, secure)
      const reply = await ask({ id: 1, action, body: 'hi' })
      t.equal(reply.fault?.code, codes.NOT_AUTHORIZED, action)
      t.match(reply.fault?.message, /before the agent handshake completed/)
      await closed(socket)
    }
    t.equal(connected, false)
  })

  t.test(`handshake wire - a socket that never handshakes is closed after handshakeTimeout (${transport})`, async (t) => {
    const { port } = await startServer(t, secure, { handshakeTimeout: 100 })
    const started = performance.now()
    const { socket } = await raw(t, port, secure)
    await closed(socket)
    const elapsed = performance.now() - started
    t.ok(elapsed >= 90 && elapsed < 2000, `closed after ${Math.round(elapsed)} ms`)
  })

  t.test(`handshake wire - a handshake written by hand works; the replies have the documented shapes (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { socket, ask } = await raw(t, port, secure)
    const { welcome } = await handshakeByHand(t, ask, socket)
    t.same(welcome, { id: 2, result: { name: 'A1', firstTime: true } })
    t.same(server.getAgents().map((agent) => agent.name), ['A1'])
    t.same(await ask({ id: 3, action: 'cio.ping' }), { id: 3 }, 'a ping with any id is answered')
    t.equal((await ask({ id: 4, action: 'cio.other' })).fault?.code, codes.UNKNOWN_ACTION, 'other reserved actions: UNKNOWN_ACTION')
    t.equal((await ask({ id: 5, action: 'cio.hello', body: encodeHello({ nonce: createNonce() }) })).fault?.code, codes.NOT_AUTHORIZED, 'a second hello ends it')
    await closed(socket)
  })

  t.test(`handshake wire - every hello gets a fresh server nonce, even for the same client nonce (${transport})`, async (t) => {
    const { port } = await startServer(t, secure)
    const clientNonce = createNonce().toString('base64')
    const seen = new Set<string>()
    for (let i = 0; i < 4; i++) {
      // The same client nonce each time, as a replaying attacker would send it: the server's must still change.
      const { socket, ask } = await raw(t, port, secure)
      const nonce = serverNonceOf(t, await ask({ id: 1, action: 'cio.hello', body: { nonce: clientNonce } }))
      t.not(nonce, clientNonce, 'not the client nonce sent back')
      t.notOk(seen.has(nonce), `hello ${i + 1}: a nonce not given before`)
      seen.add(nonce)
      socket.destroy()
      await closed(socket)
    }
    t.equal(seen.size, 4)
  })

  t.test(`handshake wire - a recorded handshake replayed on a new connection fails with WRONG_SECRET (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const errors: CioError[] = []
    server.on('error', (error) => errors.push(error))
    const first = await raw(t, port, secure)
    const { prove, serverNonce: firstNonce } = await handshakeByHand(t, first.ask, first.socket)
    const second = await raw(t, port, secure)
    const clientNonce = createNonce().toString('base64')
    const challenge = await second.ask({ id: 1, action: 'cio.hello', body: { nonce: clientNonce } })
    const serverNonce = serverNonceOf(t, challenge)
    t.not(serverNonce, firstNonce, 'a new challenge, with a fresh server nonce')
    t.not(serverNonce, clientNonce, 'the server nonce is not the client\'s sent back')
    const replayed = await second.ask(prove)
    t.equal(replayed.fault?.code, codes.WRONG_SECRET)
    await closed(second.socket)
    t.same(errors.map((error) => error.code), [codes.WRONG_SECRET], 'the server reports the attempt')
    t.same(server.getAgents().map((agent) => agent.name), ['A1'], 'only the genuine agent got in')
  })

  t.test(`handshake wire - reflection: the server's own proof sent back is refused (${transport})`, async (t) => {
    const { port } = await startServer(t, secure)
    const { socket, ask } = await raw(t, port, secure)
    const reply = await ask({ id: 1, action: 'cio.hello', body: encodeHello({ nonce: createNonce() }) })
    const reflected = await ask({ id: 2, action: 'cio.prove', body: { proof: reply.result?.proof } })
    t.equal(reflected.fault?.code, codes.WRONG_SECRET)
    await closed(socket)
  })

  t.test(`handshake wire - out of order and malformed handshake messages end the connection with a code (${transport})`, async (t) => {
    const { port } = await startServer(t, secure)
    const proof = encodeResponse({ proof: createNonce() })
    const cases: Array<[string, unknown[], string]> = [
      ['prove before hello', [{ id: 1, action: 'cio.prove', body: proof }], codes.NOT_AUTHORIZED],
      ['a hello without a nonce', [{ id: 1, action: 'cio.hello', body: {} }], codes.INVALID_MESSAGE],
      ['a short nonce', [{ id: 1, action: 'cio.hello', body: { nonce: 'AAAA' } }], codes.INVALID_MESSAGE],
      ['a name with a slash', [{ id: 1, action: 'cio.hello', body: { ...encodeHello({ nonce: createNonce() }), name: '../A1' } }], codes.INVALID_MESSAGE],
      ['the name __proto__', [{ id: 1, action: 'cio.hello', body: { ...encodeHello({ nonce: createNonce() }), name: '__proto__' } }], codes.INVALID_MESSAGE],
      ['a malformed proof', [{ id: 1, action: 'cio.hello', body: encodeHello({ nonce: createNonce() }) }, { id: 2, action: 'cio.prove', body: { proof: 42 } }], codes.INVALID_MESSAGE],
    ]
    for (const [name, messages, code] of cases) {
      const { socket, ask } = await raw(t, port, secure)
      let reply: Reply | undefined
      for (const message of messages) reply = await ask(message)
      t.equal(reply?.fault?.code, code, name)
      await closed(socket)
    }
  })

  t.test(`handshake wire - claiming the name of a connected agent: DUPLICATE_ID, and the first keeps it (${transport})`, async (t) => {
    const { server, port } = await startServer(t, secure)
    const { agent, name } = await readyAgent(t, port, secure)
    agent.onHook('who', () => 'the first')
    const errors: CioError[] = []
    server.on('error', (error) => errors.push(error))
    const { socket, ask } = await raw(t, port, secure)
    const { welcome } = await handshakeByHand(t, ask, socket, name)
    t.equal(welcome.fault?.code, codes.DUPLICATE_ID)
    t.match(welcome.fault?.message, /first connection keeps it/)
    await closed(socket)
    t.same(errors.map((error) => [error.code, error.details.name]), [[codes.DUPLICATE_ID, name]])
    t.equal(await server.sendTo(name, 'who'), 'the first')
  })
}

t.test('handshake wire - the bytes of a TCP handshake never contain the secret, in any encoding', async (t) => {
  const { port } = await startServer(t, false)
  const proxy = await startProxy(t, port)
  const { agent } = await readyAgent(t, proxy.port, false)
  await agent.close()
  const up = Buffer.concat(proxy.up)
  const down = Buffer.concat(proxy.down)
  t.match(up.toString(), /"action":"cio\.hello"/, 'the capture holds the hello...')
  t.match(up.toString(), /"action":"cio\.prove"/, '...and the proof')
  t.match(down.toString(), /"firstTime":true/, '...and the welcome')
  const secret = Buffer.from(SECRET)
  for (const form of [SECRET, secret.toString('base64'), secret.toString('base64url'), secret.toString('hex'), encodeURIComponent(SECRET), JSON.stringify(SECRET)]) {
    t.equal(up.indexOf(form), -1, `not agent to server: ${form.slice(0, 12)}...`)
    t.equal(down.indexOf(form), -1, `not server to agent: ${form.slice(0, 12)}...`)
  }
})

t.test('handshake wire - the bytes of a TCP handshake, replayed verbatim, do not get in', async (t) => {
  const { server, port } = await startServer(t, false)
  const proxy = await startProxy(t, port)
  const { agent } = await readyAgent(t, proxy.port, false)
  await agent.close()
  let admitted = 0
  server.on('agentConnected', () => admitted++)
  const recorded = /"nonce":"([^"]+)"/.exec(Buffer.concat(proxy.down).toString())?.[1]
  t.ok(recorded, 'the capture holds the first challenge')
  const { socket, reader } = await raw(t, port, false)
  socket.write(Buffer.concat(proxy.up))
  t.not(serverNonceOf(t, (await reader.next()) as Reply), recorded, 'the replayed hello gets a fresh challenge')
  t.equal(((await reader.next()) as Reply).fault?.code, codes.WRONG_SECRET, 'the replayed proof is refused')
  await closed(socket)
  t.equal(admitted, 0)
})

t.test('handshake wire - over TLS the proofs are bound to the session: a proof without the binding is refused', async (t) => {
  const { port } = await startServer(t, true)
  const { socket, ask } = await raw(t, port, true)
  const nonce = createNonce()
  const challenge = parseChallenge((await ask({ id: 1, action: 'cio.hello', body: encodeHello({ nonce }) })).result)
  t.not(serverProof(SECRET, nonce, challenge.nonce).toString('hex'), challenge.proof.toString('hex'), 'the server proof is not the unbound one')
  const unbound = await ask({ id: 2, action: 'cio.prove', body: encodeResponse({ proof: clientProof(SECRET, nonce, challenge.nonce) }) })
  t.equal(unbound.fault?.code, codes.WRONG_SECRET)
  await closed(socket)
})

/** A fake agent server: accepts one connection and plays `script` on it. */
async function fakeServer(t: Test, script: (socket: net.Socket, reader: RawReader) => Promise<void>): Promise<number> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {})
    void script(socket, new RawReader(socket))
  })
  return listenLocal(t, server)
}

t.test('handshake wire - the agent refuses requests from a server that has not proved the secret', async (t) => {
  let answer: unknown
  const port = await fakeServer(t, async (socket, reader) => {
    writeValue(socket, { id: 1, action: 'whoami' })
    for (let i = 0; i < 3 && answer === undefined; i++) {
      const value = (await reader.next()) as Reply & { action?: string }
      if (value.action === undefined) answer = value
    }
  })
  const agent = await makeAgent(t, port, false, { reconnect: false })
  let called = false
  agent.onHook('whoami', () => (called = true))
  await next(agent, 'error')
  t.match(answer, { id: 1, fault: { code: codes.NOT_AUTHORIZED } })
  t.equal(called, false, 'the hook never ran')
})

t.test('handshake wire - a server answering the hello with nonsense fails the handshake with INVALID_MESSAGE', async (t) => {
  const port = await fakeServer(t, async (socket, reader) => {
    const hello = (await reader.next()) as { id: number }
    writeValue(socket, { id: hello.id, result: { nonce: 'x', proof: 'y' } })
  })
  const agent = await makeAgent(t, port, false, { reconnect: false })
  const [error] = (await next(agent, 'error')) as [CioError]
  t.equal(error.code, codes.INVALID_MESSAGE)
  t.match(error.message, /challenge/)
})

/** A well-formed challenge whose proof is made with the real secret, so the agent goes on to prove. */
function bogusChallenge(hello: { nonce: string }): { nonce: string; proof: string } {
  const nonce = createNonce()
  return { nonce: nonce.toString('base64'), proof: serverProof(SECRET, Buffer.from(hello.nonce, 'base64'), nonce).toString('base64') }
}

t.test('handshake wire - a server that proved the secret but sends a bad welcome: INVALID_MESSAGE', async (t) => {
  const port = await fakeServer(t, async (socket, reader) => {
    const hello = (await reader.next()) as { id: number; body: { nonce: string } }
    writeValue(socket, { id: hello.id, result: bogusChallenge(hello.body) })
    const prove = (await reader.next()) as { id: number }
    writeValue(socket, { id: prove.id, result: { name: '__proto__', firstTime: true } })
  })
  const agent = await makeAgent(t, port, false, { reconnect: false })
  const [error] = (await next(agent, 'error')) as [CioError]
  t.equal(error.code, codes.INVALID_MESSAGE)
  t.match(error.message, /welcome/)
  await once(agent, 'disconnected')
})

t.test('handshake wire - once the server proved the secret, the agent answers pings of any id and refuses other reserved actions', async (t) => {
  const answers: unknown[] = []
  const port = await fakeServer(t, async (socket, reader) => {
    const hello = (await reader.next()) as { id: number; body: { nonce: string } }
    writeValue(socket, { id: hello.id, result: bogusChallenge(hello.body) })
    await reader.next()
    writeValue(socket, { id: 5, action: 'cio.ping' })
    writeValue(socket, { id: 6, action: 'cio.whatever' })
    answers.push(await reader.next(), await reader.next())
    socket.destroy()
  })
  const agent = await makeAgent(t, port, false, { reconnect: false })
  await next(agent, 'disconnected')
  t.same(answers, [{ id: 5 }, { id: 6, fault: { code: codes.UNKNOWN_ACTION, message: 'no handler for the reserved action "cio.whatever"' } }])
})

t.test('rpc interceptor - a throwing interceptor closes that connection with INTERNAL_ERROR, nothing else', async (t) => {
  const { clientPeer, serverPeer } = await netPair(t)
  serverPeer.interceptor = {
    request: () => {
      throw new Error('interceptor bug')
    },
  }
  const failed = once(serverPeer.framed, 'protocolError') as Promise<[CioError]>
  t.equal((await cioRejection(clientPeer.call('x'))).code, codes.DISCONNECTED)
  t.match((await failed)[0], { code: codes.INTERNAL_ERROR, message: /interceptor bug/ })
})

t.test('rpc interceptor - what it returns reaches the handlers as call.caller; closed() hears the end', async (t) => {
  const { clientPeer, serverPeer } = await netPair(t)
  const seen: string[] = []
  const caller = { who: 'the layer in front' }
  const closed = new Promise((resolve) => (serverPeer.interceptor = { request: (_peer, request) => (seen.push(request.action), request.action === 'who' ? caller : undefined), closed: (_peer, error) => resolve(error) }))
  serverPeer.on('echo', (body, call) => [body, call.caller ?? null])
  serverPeer.on('who', (_body, call) => call.caller)
  t.same(await clientPeer.call('echo', 7), [7, null])
  t.same(await clientPeer.call('who'), caller)
  t.same(seen, ['echo', 'who'])
  clientPeer.socket.destroy()
  t.equal(await closed, undefined, 'closed() is called once the connection closes')
})
