/**
 * The raw fuzz clients' common part: a plain socket whose bytes go through
 * a FrameDecoder, and a wait that wakes on every frame and on the close.
 */
import net from 'node:net'
import type { CioError } from '../../lib/errors.js'
import { FrameDecoder, type FrameSink } from '../../lib/frame/decoder.js'

/** Longest a fuzz case waits for the server before calling it a hang. */
export const HANG_MS = 15_000

export abstract class RawFrameClient implements FrameSink {
  readonly socket: net.Socket
  readonly decoder: FrameDecoder
  private wake: (() => void) | undefined

  constructor(port: number, maxFrameBytes: number) {
    this.decoder = new FrameDecoder(this, { maxFrameBytes })
    this.socket = net.connect({ port, host: '127.0.0.1' })
    // The server resets hostile connections; expected, not a failure.
    this.socket.on('error', () => {})
    this.socket.on('data', (chunk: Buffer) => this.decoder.push(chunk))
    this.socket.on('close', () => this.notify())
  }

  abstract onFrame(value: unknown): void
  abstract onFrameError(error: CioError): void

  /** Wakes a pending {@link until}: call it when something it may wait for happened. */
  protected notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Waits until `ready()` holds or the socket closed; false when `ms` passed first. */
  async until(ready: () => boolean, ms = HANG_MS): Promise<boolean> {
    const deadline = Date.now() + ms
    while (!ready() && !this.socket.closed) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      let timer: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        this.wake = resolve
        timer = setTimeout(resolve, left)
      })
      clearTimeout(timer)
    }
    return true
  }
}
