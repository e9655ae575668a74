/**
 * Child processes for the fault and load tests: a fixture script run with
 * `node --import tsx`, talking JSON lines (commands on stdin, events on
 * stdout). A child exits when its stdin ends, and is SIGKILLed at teardown
 * if it has not by then, so no test leaves one behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** One event a fixture printed. */
export type ChildEvent = { event: string; [key: string]: unknown }

/** Registers cleanup: tap's `t.teardown`, or a list the caller runs. */
export type Teardown = (fn: () => unknown) => void

const TSX = import.meta.resolve('tsx')

/** A running fixture. */
export class Child {
  readonly proc: ChildProcess
  readonly events: ChildEvent[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  stderr = ''
  private waiters: Array<{ test: (event: ChildEvent) => boolean; resolve: (event: ChildEvent) => void }> = []

  constructor(
    readonly name: string,
    config: unknown,
    teardown: Teardown,
    nodeArgs: readonly string[] = [],
  ) {
    const script = fileURLToPath(new URL(`./fixtures/${name}.ts`, import.meta.url))
    this.proc = spawn(process.execPath, [...nodeArgs, '--import', TSX, script, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] })
    teardown(() => this.kill('SIGKILL'))
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })))
    this.proc.stderr?.on('data', (chunk: Buffer) => {
      // Kept for failure messages; bounded.
      if (this.stderr.length < 20_000) this.stderr += chunk.toString()
    })
    // A child killed on purpose makes writes to its stdin fail: expected.
    this.proc.stdin?.on('error', () => {})
    createInterface({ input: this.proc.stdout as NodeJS.ReadableStream }).on('line', (line) => this.onLine(line))
  }

  private onLine(line: string): void {
    let event: ChildEvent
    try {
      event = JSON.parse(line) as ChildEvent
    } catch {
      return
    }
    this.events.push(event)
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.test(event)) return true
      waiter.resolve(event)
      return false
    })
  }

  /** Sends one command. */
  send(command: Record<string, unknown>): void {
    if (this.proc.stdin?.writable === true) this.proc.stdin.write(`${JSON.stringify(command)}\n`)
  }

  /**
   * The first event (already seen or to come) that passes `test`. Rejects
   * if the child exits first or `ms` pass: a hang becomes a failure.
   */
  async next(test: (event: ChildEvent) => boolean, ms: number, from = 0): Promise<ChildEvent> {
    const seen = this.events.slice(from).find(test)
    if (seen !== undefined) return seen
    let timer: NodeJS.Timeout | undefined
    let waiter: { test: (event: ChildEvent) => boolean; resolve: (event: ChildEvent) => void } | undefined
    try {
      return await Promise.race([
        new Promise<ChildEvent>((resolve) => {
          waiter = { test, resolve }
          this.waiters.push(waiter)
        }),
        this.exited.then(({ code, signal }) => {
          throw new Error(`${this.name} exited (${code ?? signal}) while waiting: ${this.stderr.slice(-2000)}`)
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name}: no such event within ${ms} ms; stderr: ${this.stderr.slice(-2000)}`)), ms)
        }),
      ])
    } finally {
      clearTimeout(timer)
      this.waiters = this.waiters.filter((w) => w !== waiter)
    }
  }

  /** Waits for the event named `name`. */
  wait(name: string, ms: number): Promise<ChildEvent> {
    return this.next((event) => event.event === name, ms)
  }

  /** Sends a command and waits for its answer: the first `reply` event after it. */
  async ask(command: Record<string, unknown>, reply: string, ms: number): Promise<ChildEvent> {
    const from = this.events.length
    this.send(command)
    return this.next((event) => event.event === reply, ms, from)
  }

  /** Kills it unless it has exited. */
  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal)
  }

  /** Ends its stdin (the fixture then closes everything and exits) and waits for the exit, killing it after `ms`. */
  async stop(ms = 10_000): Promise<void> {
    this.proc.stdin?.end()
    const timer = setTimeout(() => this.kill('SIGKILL'), ms)
    await this.exited
    clearTimeout(timer)
  }
}
