import { agentCommand, agentHelp } from './agent.js'
import { callCommand, callHelp } from './call.js'
import { certsCommand, certsHelp } from './certs.js'
import { demoCommand, demoHelp } from './demo.js'
import { lsCommand, lsHelp } from './ls.js'
import { makeOutput } from './output.js'
import { serveCommand, serveHelp } from './serve.js'
import { UsageError } from './usage.js'

export const usage = 'usage: cio <demo|certs|serve|agent|call|ls> [options]   (cio <command> --help for details)'

const helps: Record<string, string> = { demo: demoHelp, certs: certsHelp, serve: serveHelp, agent: agentHelp, call: callHelp, ls: lsHelp }

/** Resolves on SIGINT or SIGTERM, so long-running commands can close cleanly. */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      process.off('SIGINT', done)
      process.off('SIGTERM', done)
      resolve()
    }
    process.once('SIGINT', done)
    process.once('SIGTERM', done)
  })
}

/** Runs one cio command; returns the process exit code (0 ok, 1 failed, 2 bad usage). */
export async function main(argv: string[], print = (line: string) => console.log(line), printError = (line: string) => console.error(line), stop?: Promise<void>): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === '--help' || command === '-h') {
      print(usage)
      return 0
    }
    if (command === undefined) throw new UsageError('a command is needed', usage)
    const help = helps[command]
    if (help === undefined) throw new UsageError(`unknown command "${command}"`, usage)
    if (rest.includes('--help') || rest.includes('-h')) {
      print(help)
      return 0
    }
    const out = makeOutput(rest.includes('--json'), print, printError)
    switch (command) {
      case 'demo':
        if (rest.some((arg) => arg !== '--json')) throw new UsageError(`demo takes no arguments but --json, got "${rest.join(' ')}"`, 'usage: cio demo [--json]')
        await demoCommand(out)
        return 0
      case 'certs':
        await certsCommand(rest, print)
        return 0
      case 'serve':
        await serveCommand(rest, out, stop ?? untilSignal())
        return 0
      case 'agent':
        await agentCommand(rest, out, stop ?? untilSignal())
        return 0
      case 'ls':
        await lsCommand(rest, out)
        return 0
      default:
        return await callCommand(rest, out)
    }
  } catch (error) {
    if (error instanceof UsageError) {
      printError(`cio: ${error.message}`)
      printError(error.usage)
      return 2
    }
    const code = (error as { code?: unknown }).code
    printError(`cio: ${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`)
    return 1
  }
}
