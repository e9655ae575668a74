/** A command-line mistake: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  constructor(message: string, readonly usage: string) {
    super(message)
    this.name = 'UsageError'
  }
}
