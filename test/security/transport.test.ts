/**
 * Parsing, TLS and secret hygiene against a live server: JSON nested past
 * the limit is refused before it is parsed; TLS renegotiation and TLS 1.2
 * are refused by agent servers; short secrets are refused; plain TCP on an
 * address other machines reach is flagged.
 */
import { once } from 'node:events'
import tls from 'node:tls'
import t from 'tap'
import { Agent, AgentServer } from '../../lib/agent/index.js'
import { resolveServerOptions } from '../../lib/agent/server/options.js'
import { handshakeKey } from '../../lib/agent/handshake.js'
import { codes, type CioError } from '../../lib/errors.js'
import { rawFrame } from '../helpers/framing.js'
import { testCerts } from '../helpers/certs.js'
import { SECRET } from '../helpers/agents.js'
import { connectRaw, figure, handshake } from './helpers.js'

t.test('transport - JSON nested past maxJsonDepth is FRAME_INVALID before JSON.parse; 256 deep is fine', async (t) => {
  const server = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', heartbeatInterval: 0, noRelisten: true })
  t.teardown(() => server.close())
  server.onHook('echo', (message) => message)
  const { port } = await server.ready()
  const reports: CioError[] = []
  server.netServer.on('protocolError', (error: CioError) => reports.push(error))
  const agent = new Agent({ host: `127.0.0.1:${port}`, secret: SECRET })
  t.teardown(() => agent.close())
  await once(agent, 'ready')
  const nested = (depth: number): unknown => JSON.parse('['.repeat(depth) + ']'.repeat(depth))
  // The body sits two levels down in the request ({ body: [...] } inside the frame's object).
  t.same(await agent.send('echo', nested(255)), nested(255), '256 levels in all pass')
  const socket = await connectRaw(port)
  await handshake(socket, SECRET)
  const bytes = 8 * 1024 * 1024 - 64
  const payload = `{"id":3,"action":"echo","body":${'['.repeat(bytes / 2)}${']'.repeat(bytes / 2)}}`
  const started = performance.now()
  socket.write(rawFrame(payload))
  if (!socket.closed) await once(socket, 'close')
  const ms = performance.now() - started
  t.match(reports.at(-1), { code: codes.FRAME_INVALID, message: /deeper than maxJsonDepth 256/ })
  figure(t, `8 MiB frame of nested arrays from an authenticated peer: refused with FRAME_INVALID ${Math.round(ms)} ms after it was sent (JSON.parse of it took 2.7-3.1 s before)`)
})

t.test('transport - agent servers refuse TLS renegotiation and, by default, TLS 1.2', async (t) => {
  const certs = await testCerts()
  const lowered = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', key: certs.server.key, cert: certs.server.cert, tlsOptions: { minVersion: 'TLSv1.2' }, noRelisten: true })
  t.teardown(() => lowered.close())
  const { port } = await lowered.ready()
  const attempts = 10
  let renegotiated = 0
  for (let i = 0; i < attempts; i++) {
    const socket = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2' })
    socket.on('error', () => {})
    await once(socket, 'secureConnect')
    const outcome = await new Promise<string>((resolve) => {
      socket.once('close', () => resolve('closed'))
      socket.renegotiate({}, (error) => resolve(error === null ? 'renegotiated' : 'refused'))
    })
    if (outcome === 'renegotiated') renegotiated++
    socket.destroy()
  }
  t.equal(renegotiated, 0, `none of ${attempts} renegotiations succeeded`)
  figure(t, `client-initiated TLS 1.2 renegotiation: ${renegotiated} of ${attempts} succeeded (50 of 50 before)`)
  const strict = new AgentServer({ secret: SECRET, port: 0, host: '127.0.0.1', key: certs.server.key, cert: certs.server.cert, noRelisten: true })
  t.teardown(() => strict.close())
  const strictPort = (await strict.ready()).port
  const old = tls.connect({ port: strictPort, host: '127.0.0.1', rejectUnauthorized: false, maxVersion: 'TLSv1.2' })
  const [error] = (await once(old, 'error')) as [NodeJS.ErrnoException]
  t.match(error.code, /ERR_SSL/, 'a TLS 1.2 client fails the handshake')
  const agent = new Agent({ host: `tls://127.0.0.1:${strictPort}`, secret: SECRET, ca: certs.ca.cert })
  t.teardown(() => agent.close())
  await once(agent, 'ready')
  t.equal((agent as unknown as { cio: unknown }).cio !== undefined, true, 'an agent gets in over TLS 1.3')
})

t.test('transport - secrets under 16 bytes are refused on both sides; one offline guess costs a scrypt', async (t) => {
  for (const secret of ['x', 'sunshine42', 'fifteen bytes!!']) {
    t.throws(() => new AgentServer({ secret, port: 0, host: '127.0.0.1' }), { code: codes.INVALID_OPTION }, `server: ${secret.length} bytes`)
    t.throws(() => new Agent({ host: '127.0.0.1:1', secret }), { code: codes.INVALID_OPTION }, `agent: ${secret.length} bytes`)
  }
  const guesses = 3
  const started = performance.now()
  for (let i = 0; i < guesses; i++) handshakeKey(`guess number ${i} of the secret`)
  const ms = (performance.now() - started) / guesses
  figure(t, `one offline guess of the secret (an scrypt with N 2^15, r 8, p 1, then an HMAC): ${ms.toFixed(0)} ms and 32 MiB here; 100,000 guesses about ${((ms * 100_000) / 3_600_000).toFixed(1)} CPU hours (0.57 s before)`)
})

t.test('transport - plain TCP on an address other machines reach, without protocol: tcp, is flagged', async (t) => {
  const flagged = (options: Record<string, unknown>): boolean => resolveServerOptions({ secret: SECRET, ...options }).insecure
  t.ok(flagged({}), 'all interfaces (the default host)')
  t.ok(flagged({ host: '0.0.0.0' }))
  t.ok(flagged({ host: '10.1.2.3' }))
  t.notOk(flagged({ host: '127.0.0.1' }), 'loopback')
  t.notOk(flagged({ host: '::1' }))
  t.notOk(flagged({ host: 'localhost' }))
  t.notOk(flagged({ host: '0.0.0.0', protocol: 'tcp' }), 'protocol: tcp said out loud')
  t.notOk(flagged({ protocol: 'tls', key: (await testCerts()).server.key, cert: (await testCerts()).server.cert }), 'TLS')
})
