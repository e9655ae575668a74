/** Where a command writes: lines for people, or JSON lines for scripts with --json. */
export interface Output {
  /** True with --json. */
  readonly json: boolean
  /** A line for people (suppressed with --json). */
  say(line: string): void
  /** A record: printed as JSON with --json, else through `human`. */
  record(value: Record<string, unknown>, human: string): void
  /** A warning or error line, always on stderr. */
  warn(line: string): void
}

export function makeOutput(json: boolean, print: (line: string) => void, printError: (line: string) => void): Output {
  return {
    json,
    say: (line) => {
      if (!json) print(line)
    },
    record: (value, human) => print(json ? JSON.stringify(value) : human),
    warn: printError,
  }
}

/** A thrown value as people read it: its code first when it has one. */
export function describeFailure(error: unknown): { code: string; message: string } {
  if (error !== null && typeof error === 'object') {
    const { code, message, msg } = error as { code?: unknown; message?: unknown; msg?: unknown }
    const text = typeof message === 'string' ? message : typeof msg === 'string' ? msg : JSON.stringify(error)
    return { code: typeof code === 'string' ? code : 'ERROR', message: text }
  }
  return { code: 'ERROR', message: String(error) }
}
