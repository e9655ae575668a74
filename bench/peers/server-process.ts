/**
 * The runner's handle on one benchmark server child (`child.ts`): start it,
 * read its JSON lines, ask it for its memory, stop it. Every child started
 * is killed when the runner exits, whatever the reason.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { within, type ServerInfo } from './adapter.js'

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url))
const live = new Set<ChildProcess>()

function killAll(): void {
  for (const child of live) child.kill('SIGKILL')
  live.clear()
}
process.on('exit', killAll)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAll()
    process.exit(130)
  })
}

/** The child's flags: the runner's own (its TypeScript loader among them), plus --expose-gc. */
function childArgs(): string[] {
  const args = [...process.execArgv]
  if (!args.includes('--expose-gc')) args.unshift('--expose-gc')
  return args
}

type Message = { ready?: ServerInfo; mem?: NodeJS.MemoryUsage; error?: string }

export class ServerProcess {
  private readonly queue: Message[] = []
  private readonly waiting: Array<{ resolve: (message: Message) => void; reject: (error: Error) => void }> = []
  private stderr = ''
  private exited: Error | undefined
  info: ServerInfo = { port: 0 }

  private constructor(
    readonly label: string,
    private readonly child: ChildProcess,
  ) {
    live.add(child)
    if (child.stdout === null || child.stderr === null) throw new Error('child without pipes')
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: Message
      try {
        message = JSON.parse(line) as Message
      } catch {
        return // a library printing on stdout: not ours
      }
      const waiter = this.waiting.shift()
      if (waiter === undefined) this.queue.push(message)
      else waiter.resolve(message)
    })
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (text: string) => {
      this.stderr = (this.stderr + text).slice(-2000)
    })
    child.once('exit', (code, signal) => {
      live.delete(child)
      const lines = this.stderr.trim().split('\n')
      const tail = (lines.filter((line) => /Error\b/.test(line)).pop() ?? lines.slice(-3).join(' / ')).trim()
      this.exited = new Error(`${label} server exited (${signal ?? code})${tail === '' ? '' : `: ${tail}`}`)
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.exited)
    })
  }

  /** Starts the server of adapter `id` from `adapters/<file>` and waits until it listens. */
  static async start(file: string, id: string, label: string): Promise<ServerProcess> {
    const child = spawn(process.execPath, [...childArgs(), CHILD, file, id], { stdio: ['pipe', 'pipe', 'pipe'] })
    const server = new ServerProcess(label, child)
    try {
      const message = await server.next(30_000)
      if (message.ready === undefined) throw new Error(`${label} server: ${message.error ?? 'unexpected first message'}`)
      server.info = message.ready
      return server
    } catch (error) {
      await server.stop()
      throw error
    }
  }

  private next(ms: number): Promise<Message> {
    const queued = this.queue.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.exited !== undefined) return Promise.reject(this.exited)
    const waiter = { resolve: (_message: Message): void => undefined, reject: (_error: Error): void => undefined }
    const promise = new Promise<Message>((resolve, reject) => {
      waiter.resolve = resolve
      waiter.reject = reject
    })
    this.waiting.push(waiter)
    return within(promise, ms, `${this.label} server`).catch((error: unknown) => {
      // A waiter that timed out must not swallow a later message.
      const index = this.waiting.indexOf(waiter)
      if (index !== -1) this.waiting.splice(index, 1)
      throw error
    })
  }

  /** The child's memory after garbage collection. */
  async memory(): Promise<NodeJS.MemoryUsage> {
    this.child.stdin?.write('mem\n')
    const message = await this.next(30_000)
    if (message.mem === undefined) throw new Error(`${this.label} server: ${message.error ?? 'no memory figures'}`)
    return message.mem
  }

  /** Closes stdin (the child closes its server and exits); kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = once(this.child, 'exit')
    this.child.stdin?.end()
    try {
      await within(exited, 5000, `${this.label} server exit`)
    } catch {
      this.child.kill('SIGKILL')
      await exited
    }
  }
}
