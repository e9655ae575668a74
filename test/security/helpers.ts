/**
 * What the hostile-peer suite shares: its size, how it reports figures, and
 * a raw client that knows the secret, so it can get past the handshake and
 * then misbehave in ways a well-behaved Agent never would.
 */
import { once } from 'node:events'
import net from 'node:net'
import tls from 'node:tls'
import type { Test } from 'tap'
import { clientProof, createNonce } from '../../lib/agent/handshake.js'
import { encodeFrame } from '../../lib/frame/encoder.js'
import { RawReader } from '../helpers/framing.js'

/** CI runs at 1; `npm run security` at 10 (`SECURITY_SCALE`). */
export const SCALE = Math.max(1, Number(process.env.SECURITY_SCALE ?? 1))

/** A measured figure, printed as a `# figure:` comment so that `npm run security` can list them. */
export function figure(t: Test, text: string): void {
  t.comment(`figure: ${text}`)
}

/** A raw connection, errors expected (the server resets hostile peers). */
export async function connectRaw(port: number, secure = false): Promise<net.Socket> {
  const socket = secure ? tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  await once(socket, secure ? 'secureConnect' : 'connect')
  return socket
}

/** Runs the agent handshake by hand on `socket`; resolves with the welcome's name and a reader for what follows. */
export async function handshake(socket: net.Socket, secret: string): Promise<{ name: string; reader: RawReader }> {
  const reader = new RawReader(socket)
  const nonce = createNonce()
  socket.write(encodeFrame({ id: 1, action: 'cio.hello', body: { nonce: nonce.toString('base64') } }))
  const challenge = (await reader.next()) as { result: { nonce: string } }
  const proof = clientProof(secret, nonce, Buffer.from(challenge.result.nonce, 'base64'), Buffer.alloc(0))
  socket.write(encodeFrame({ id: 2, action: 'cio.prove', body: { proof: proof.toString('base64') } }))
  const welcome = (await reader.next()) as { result?: { name: string }; fault?: unknown }
  if (welcome.result === undefined) throw new Error(`handshake refused: ${JSON.stringify(welcome)}`)
  return { name: welcome.result.name, reader }
}

/** Resolves when `socket` closed; with the ms from `since`. */
export async function closedAfter(socket: net.Socket, since: number): Promise<number> {
  if (!socket.closed) await once(socket, 'close')
  return performance.now() - since
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}
