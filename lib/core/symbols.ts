/**
 * Per-socket state kept on the socket itself under a private symbol: one
 * property on an object that exists anyway, instead of a WeakMap entry
 * per connection, and gone with the socket.
 */
import type { Socket } from 'node:net'

/** One kind of per-socket state: read it with `get`, attach it with `set`. */
export interface SocketSlot<T> {
  get(socket: Socket): T | undefined
  set(socket: Socket, value: T): void
}

/** A new slot; `description` names its symbol in heap snapshots and debuggers. */
export function socketSlot<T>(description: string): SocketSlot<T> {
  const key = Symbol(description)
  return {
    get: (socket) => (socket as unknown as Record<symbol, T | undefined>)[key],
    set: (socket, value) => {
      ;(socket as unknown as Record<symbol, T>)[key] = value
    },
  }
}
