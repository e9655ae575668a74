import { once } from 'node:events'
import net from 'node:net'
import type { Test } from 'tap'
import buildCio from '../../lib/index.js'
import type { CioServer } from '../../lib/core/server-events.js'
import type { CioOptions } from '../../lib/core/options.js'
import { attachRpc, peerOf, type RpcPeer } from '../../lib/rpc/peer.js'
import type { RpcPeerOptions } from '../../lib/rpc/options.js'
import rpcListeners from '../../listeners/rpc.js'
import { RawReader } from './framing.js'
import { testCerts } from './certs.js'
import { listenLocal, track } from './net.js'

/** Both ends of one RPC connection made by cio, plus the server. */
export interface RpcPair {
  server: CioServer
  port: number
  client: net.Socket
  /** The client's peer: calls go to the server. */
  clientPeer: RpcPeer
  /** The server client's peer: calls go to the client. */
  serverPeer: RpcPeer
  /** Opens another client to the same server (TLS too when the pair is). */
  connect(options?: CioOptions): Promise<{ client: net.Socket; clientPeer: RpcPeer; serverPeer: RpcPeer }>
}

/**
 * A cio server and client with `rpcListeners` on both chains, over TCP or
 * TLS, connected, with each side's peer. Everything is closed at teardown.
 */
export async function rpcPair(t: Test, secure: boolean, serverOptions: CioOptions = {}, clientOptions: CioOptions = {}): Promise<RpcPair> {
  const certs = secure ? await testCerts() : undefined
  const cio = buildCio()
  cio.onServerClient(rpcListeners)
  cio.onClient(rpcListeners)
  const tlsServer = certs === undefined ? {} : { key: certs.server.key, cert: certs.server.cert }
  const tlsClient = certs === undefined ? {} : { ca: certs.ca.cert, servername: 'localhost' }
  const server = cio.server({ ...tlsServer, ...serverOptions })
  const port = await listenLocal(t, server)
  const connect = async (options: CioOptions = {}): Promise<{ client: net.Socket; clientPeer: RpcPeer; serverPeer: RpcPeer }> => {
    const announced = once(server, 'peer') as Promise<[RpcPeer, net.Socket]>
    const client = track(t, cio.client({ port, host: '127.0.0.1', ...tlsClient, ...clientOptions, ...options }))
    const clientPeer = peerOf(client)
    if (clientPeer === undefined) throw new Error('cio/rpc gave the client no peer')
    const [serverPeer] = await announced
    return { client, clientPeer, serverPeer }
  }
  return { server, port, connect, ...(await connect()) }
}

/** Which end of a connection made by cio calls the other. */
export type Direction = 'client calls server' | 'server calls client'

/** Both directions, for tests that run each case both ways. */
export const DIRECTIONS: readonly Direction[] = ['client calls server', 'server calls client']

/**
 * Names the two peers of a connection (an {@link RpcPair} or one made by its
 * `connect()`) by their part in `direction`: the caller and the answerer.
 */
export function directed<P extends { clientPeer: RpcPeer; serverPeer: RpcPeer }>(pair: P, direction: Direction): P & { caller: RpcPeer; answerer: RpcPeer } {
  return direction === 'client calls server'
    ? { ...pair, caller: pair.clientPeer, answerer: pair.serverPeer }
    : { ...pair, caller: pair.serverPeer, answerer: pair.clientPeer }
}

/** Two peers over a plain `net` connection, without the builder. */
export async function netPair(t: Test, serverOptions: RpcPeerOptions = {}, clientOptions: RpcPeerOptions = {}): Promise<{ clientPeer: RpcPeer; serverPeer: RpcPeer }> {
  const server = net.createServer()
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const port = await listenLocal(t, server)
  const client = track(t, net.connect({ port, host: '127.0.0.1' }))
  const clientPeer = attachRpc(client, clientOptions)
  const [socket] = await accepted
  return { clientPeer, serverPeer: attachRpc(socket, serverOptions) }
}

/**
 * An RPC peer on the accepted end of a loopback connection, the other end
 * raw with a frame reader: to see exactly what the peer sends, and to answer
 * (or stay silent) by hand.
 */
export async function peerWithRawEnd(t: Test): Promise<{ peer: RpcPeer; socket: net.Socket; raw: net.Socket; reader: RawReader }> {
  const server = net.createServer()
  const accepted = once(server, 'connection') as Promise<[net.Socket]>
  const port = await listenLocal(t, server)
  const raw = track(t, net.connect({ port, host: '127.0.0.1' }))
  raw.on('error', () => {})
  const reader = new RawReader(raw)
  const [socket] = await accepted
  return { peer: attachRpc(socket), socket, raw, reader }
}

/** A cio client with `rpcListeners` connecting to `port` (any server, cio or not), with its peer. */
export function cioRpcClient(t: Test, port: number): { client: net.Socket; peer: RpcPeer } {
  const cio = buildCio()
  cio.onClient(rpcListeners)
  const client = track(t, cio.client({ port, host: '127.0.0.1' }))
  const peer = peerOf(client)
  if (peer === undefined) throw new Error('cio/rpc gave the client no peer')
  return { client, peer }
}
