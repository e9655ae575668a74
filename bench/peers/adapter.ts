/**
 * What every library adapter provides: one module in `adapters/` whose
 * default export is an `Adapter` (or an array of them, for variants such as
 * TCP and TLS). The runner finds the modules by listing the folder, so a new
 * library is one new file.
 *
 * `serve()` runs in a child process (`child.ts`) and answers the action
 * `echo` with its body; `connect()` runs in the runner's process and gives a
 * client whose `call(body)` resolves with the echoed body.
 */
import type { Server } from 'node:net'
import { once } from 'node:events'

/** JSON-able facts a server hands to its clients (port, CA certificate...). */
export interface ServerInfo {
  port: number
  [key: string]: string | number | boolean
}

export interface RunningServer {
  info: ServerInfo
  /** Stops accepting and closes every connection. */
  close(): Promise<void>
}

export interface Client {
  /** One echo call: resolves with the body as the server returned it. */
  call(body: unknown): Promise<unknown>
  /** Closes the connection; resolves once it is closed (or soon after). */
  close(): Promise<void>
}

export interface Adapter {
  /** Unique, short, used as the child's argument: `cio-rpc`. */
  id: string
  /** Row label: `cio RPC`. */
  label: string
  /** How it is used, for the notes under the table. */
  description: string
  /** Whether the idle-memory scenario includes it. */
  memory?: boolean
  serve(): Promise<RunningServer>
  connect(info: ServerInfo): Promise<Client>
}

export type AdapterModule = { default: Adapter | readonly Adapter[] }

export const HOST = '127.0.0.1'

/** Listens on a free loopback port and returns it. */
export async function listen(server: Server): Promise<number> {
  server.listen(0, HOST)
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no TCP address')
  return address.port
}

/** Closes a server, destroying its remaining connections. */
export async function closeServer(server: Server & { closeAllConnections?: () => void }): Promise<void> {
  if (!server.listening) return
  const closed = once(server, 'close')
  server.close()
  server.closeAllConnections?.()
  await closed
}

/** Rejects after `ms` with `what` in the message; the timer is cleared if `promise` wins. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A request/response correlator by integer id, for libraries that have none. */
export class Pending {
  private nextId = 0
  private readonly waiting = new Map<number, (value: unknown) => void>()
  /** Registers a call; `send(id)` writes it. */
  call(send: (id: number) => void): Promise<unknown> {
    const id = ++this.nextId
    return new Promise((resolve) => {
      this.waiting.set(id, resolve)
      send(id)
    })
  }
  settle(id: number, value: unknown): void {
    const resolve = this.waiting.get(id)
    this.waiting.delete(id)
    resolve?.(value)
  }
}
