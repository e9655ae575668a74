import { certsCommand, certsHelp } from './certs.js'
import { demoCommand, demoHelp } from './demo.js'
import { UsageError } from './usage.js'

const usage = 'usage: cio <demo|certs> [options]   (cio <command> --help for details)'

const helps: Record<string, string> = { demo: demoHelp, certs: certsHelp }

/** Runs one cio command; returns the process exit code. */
export async function main(argv: string[], print = (line: string) => console.log(line), printError = (line: string) => console.error(line)): Promise<number> {
  const [command, ...rest] = argv
  try {
    if (command === undefined || command === '--help' || command === '-h') {
      print(usage)
      return command === undefined ? 2 : 0
    }
    const help = helps[command]
    if (help === undefined) throw new UsageError(`unknown command "${command}"`, usage)
    if (rest.includes('--help') || rest.includes('-h')) {
      print(help)
      return 0
    }
    if (command === 'demo') {
      if (rest.length > 0) throw new UsageError(`demo takes no arguments, got "${rest.join(' ')}"`, 'usage: cio demo')
      await demoCommand(print)
    } else {
      await certsCommand(rest, print)
    }
    return 0
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

