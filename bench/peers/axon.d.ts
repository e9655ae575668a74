/** The part of axon 2 (no published types) that the bench uses. */
declare module 'axon' {
  import type { EventEmitter } from 'node:events'
  interface AxonSocket extends EventEmitter {
    bind(port: number, host?: string, callback?: () => void): this
    connect(port: number, host?: string, callback?: () => void): this
    send(...args: unknown[]): void
    close(callback?: () => void): void
    set(name: string, value: unknown): this
  }
  function socket(type: 'req' | 'rep' | 'push' | 'pull' | 'pub' | 'sub'): AxonSocket
  const axon: { socket: typeof socket }
  export default axon
}
